import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  gapBucket, nativeFeaturesAvailable, packSequences, packSequencesNative, packSequencesTS, type PackRequest,
} from '../../src/features/index.js';
import { packOracle } from './oracle.js';
import { randInt, rng, type Rng } from './random.js';

process.env.CMDCM_LOG_LEVEL ??= 'silent';

const noNative = nativeFeaturesAvailable() ? false : 'native addon unavailable (not built or CMDCM_NO_NATIVE=1): native half skipped';
if (noNative) console.log(`# ${noNative}`);

const RESOLUTIONS = [1, 3600, 86400];

/**
 * Random grouped events: some users without events, many ties, and times placed on and next to
 * resolution boundaries; samples at event times, at boundaries and around them. itemRow[e] = e + 1
 * identifies the event behind every packed token (the leakage test reads it back).
 */
function randomRequest(r: Rng, res: number, seqLen: number): PackRequest {
  const nUsers = randInt(r, 1, 40);
  const userStart = new Int32Array(nUsers + 1);
  const times: number[] = [];
  const base = r() < 0.2 ? -86400 * 3 : 1_400_000_000 - (1_400_000_000 % 86400);
  for (let u = 0; u < nUsers; u++) {
    userStart[u] = times.length;
    const n = r() < 0.2 ? 0 : randInt(r, 1, r() < 0.3 ? 200 : 12);
    const ts: number[] = [];
    for (let i = 0; i < n; i++) {
      const step = randInt(r, 0, 30) * res;
      const jitter = r() < 0.5 ? 0 : r() < 0.5 ? randInt(r, 0, res - 1) : res - 1;
      ts.push(base + step + jitter);
    }
    // Now and then a very old event, so gap buckets reach the cap (2^14 hours is ~1.9 years).
    if (n > 0 && r() < 0.15) ts.push(base - randInt(r, 3600, 1_500_000_000));
    ts.sort((a, b) => a - b);
    times.push(...ts);
  }
  userStart[nUsers] = times.length;
  const nEvents = times.length;
  const time = Int32Array.from(times);
  const itemRow = Int32Array.from({ length: nEvents }, (_, e) => e + 1);
  const catRow = Int32Array.from({ length: nEvents }, () => randInt(r, 1, 1000));
  const behavior = Uint8Array.from({ length: nEvents }, () => randInt(r, 0, 3));
  const nSamples = randInt(r, 0, 200);
  const sampleUser = Int32Array.from({ length: nSamples }, () => randInt(r, 0, nUsers - 1));
  const sampleTime = new Int32Array(nSamples);
  for (let i = 0; i < nSamples; i++) {
    const u = sampleUser[i];
    const lo = userStart[u], hi = userStart[u + 1];
    const p = r();
    if (hi > lo && p < 0.5) {
      const te = time[randInt(r, lo, hi - 1)];
      const k = Math.floor(te / res) * res;
      sampleTime[i] = [te, te + 1, te - 1, k, k - 1, k + res, k + res - 1][randInt(r, 0, 6)];
    } else {
      sampleTime[i] = base + randInt(r, -2, 40) * res + (r() < 0.5 ? 0 : randInt(r, 0, res - 1));
    }
  }
  if (r() < 0.5) {
    // Per user in time order, as prepare emits them (the addon then searches from the previous
    // sample's position instead of bisecting the whole history).
    const order = Array.from({ length: nSamples }, (_, i) => i).sort((a, b) => sampleUser[a] - sampleUser[b] || sampleTime[a] - sampleTime[b]);
    const u2 = Int32Array.from(order, (i) => sampleUser[i]), t2 = Int32Array.from(order, (i) => sampleTime[i]);
    sampleUser.set(u2);
    sampleTime.set(t2);
  }
  return {
    time, itemRow, catRow, behavior, userStart, sampleUser, sampleTime, seqLen, resolution: res,
    behaviorOffset: randInt(r, 1, 5000), gapOffset: randInt(r, 1, 5000), gapBuckets: r() < 0.8 ? 16 : randInt(r, 1, 20),
  };
}

function cases(seed: number, count: number, each: (req: PackRequest, tag: string) => void): void {
  const r = rng(seed);
  for (let c = 0; c < count; c++) {
    const res = RESOLUTIONS[c % 3];
    const seqLen = [0, 1, 3, 7, 50][randInt(r, 0, 4)];
    each(randomRequest(r, res, seqLen), `case ${c} res=${res} L=${seqLen}`);
  }
}

test('gapBucket follows the contract: 0 within the hour, 1 + floor(log2 hours), capped at G - 1', () => {
  assert.equal(gapBucket(1), 0);
  assert.equal(gapBucket(3599), 0);
  assert.equal(gapBucket(3600), 1);
  assert.equal(gapBucket(2 * 3600), 2);
  assert.equal(gapBucket(4 * 3600 - 1), 2);
  assert.equal(gapBucket(4 * 3600), 3);
  assert.equal(gapBucket(3600 * 2 ** 14), 15);
  assert.equal(gapBucket(3600 * 2 ** 20), 15);
  assert.equal(gapBucket(3600 * 2 ** 20, 40), 21);
});

test('packSequencesTS equals a linear-scan oracle on random events (ties, boundaries, empty users)', () => {
  cases(11, 150, (req, tag) => {
    const want = packOracle(req);
    const got = packSequencesTS(req);
    assert.deepEqual(got.seqLen, want.seqLen, tag);
    assert.deepEqual(got.seq, want.seq, tag);
  });
});

test('packSequencesNative equals packSequencesTS exactly', { skip: noNative }, () => {
  cases(12, 300, (req, tag) => {
    const ts = packSequencesTS(req);
    const nat = packSequencesNative(req);
    assert.deepEqual(nat.seqLen, ts.seqLen, tag);
    assert.deepEqual(nat.seq, ts.seq, tag);
    assert.deepEqual(packSequences(req).seq, ts.seq, tag);
  });
});

test('no packed event is at or after the sample time at the resolution, and none is skipped', () => {
  const impls = [packSequencesTS, ...(noNative ? [] : [packSequencesNative])];
  for (const pack of impls) {
    cases(13, 150, (req, tag) => {
      const { seq, seqLen } = pack(req);
      const L = req.seqLen, res = req.resolution;
      for (let i = 0; i < req.sampleUser.length; i++) {
        const u = req.sampleUser[i], t = req.sampleTime[i];
        const before: number[] = [];
        for (let e = req.userStart[u]; e < req.userStart[u + 1]; e++) if (Math.floor(req.time[e] / res) < Math.floor(t / res)) before.push(e);
        assert.equal(seqLen[i], Math.min(L, before.length), tag);
        for (let j = 0; j < L; j++) {
          const o = (i * L + j) * 4;
          if (j >= seqLen[i]) {
            assert.deepEqual([...seq.subarray(o, o + 4)], [0, 0, 0, 0], `${tag}: padding`);
            continue;
          }
          const e = seq[o] - 1;
          assert.ok(e >= req.userStart[u] && e < req.userStart[u + 1], `${tag}: event of another user`);
          assert.ok(Math.floor(req.time[e] / res) < Math.floor(t / res), `${tag}: sample ${i} sees event at ${req.time[e]} >= ${t}`);
          if (j > 0) assert.equal(e, seq[o - 4] - 1 + 1, `${tag}: consecutive events, oldest first`);
        }
        if (seqLen[i] > 0) assert.equal(seq[(i * L + seqLen[i] - 1) * 4] - 1, before[before.length - 1], `${tag}: ends at the latest earlier event`);
      }
    });
  }
});

test('packing into a reused output overwrites stale tokens with padding', () => {
  const impls = [packSequencesTS, ...(noNative ? [] : [packSequencesNative])];
  const r = rng(14);
  for (const pack of impls) {
    for (let c = 0; c < 20; c++) {
      const req = randomRequest(r, RESOLUTIONS[c % 3], 7);
      const n = req.sampleUser.length;
      const out = { seq: new Int32Array(n * 28 + 5).fill(-9), seqLen: new Int32Array(n + 1).fill(-9) };
      pack(req, out);
      const fresh = packOracle(req);
      assert.deepEqual(out.seq.subarray(0, n * 28), fresh.seq);
      assert.deepEqual(out.seqLen.subarray(0, n), fresh.seqLen);
      assert.equal(out.seq[n * 28], -9, 'writes stay inside N × L × 4');
    }
  }
});

test('malformed requests throw instead of reading out of bounds', () => {
  const impls = [packSequencesTS, ...(noNative ? [] : [packSequencesNative])];
  const base: PackRequest = {
    time: Int32Array.of(10, 20), itemRow: Int32Array.of(1, 2), catRow: Int32Array.of(3, 4), behavior: Uint8Array.of(0, 1),
    userStart: Int32Array.of(0, 2), sampleUser: Int32Array.of(0), sampleTime: Int32Array.of(30),
    seqLen: 4, resolution: 1, behaviorOffset: 10, gapOffset: 20, gapBuckets: 16,
  };
  for (const pack of impls) {
    assert.deepEqual([...pack(base).seq.subarray(0, 8)], [1, 3, 10, 20, 2, 4, 11, 20]);
    // The widest gap int32 times allow (t - te = 2^32 - 1) still lands in the last bucket.
    const wide = pack({ ...base, time: Int32Array.of(-0x80000000, 20), sampleTime: Int32Array.of(0x7fffffff) });
    assert.deepEqual([...wide.seq.subarray(0, 8)], [1, 3, 10, 35, 2, 4, 11, 35]);
    assert.throws(() => pack({ ...base, sampleUser: Int32Array.of(1) }), RangeError);
    assert.throws(() => pack({ ...base, sampleUser: Int32Array.of(-1) }), RangeError);
    assert.throws(() => pack({ ...base, userStart: Int32Array.of(0, 3) }), RangeError);
    assert.throws(() => pack({ ...base, catRow: Int32Array.of(1) }), RangeError);
    assert.throws(() => pack({ ...base, sampleTime: Int32Array.of() }), RangeError);
    assert.throws(() => pack({ ...base, resolution: 0 }), RangeError);
    assert.throws(() => pack(base, { seq: new Int32Array(15), seqLen: new Int32Array(1) }), RangeError);
  }
});
