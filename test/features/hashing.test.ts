import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadAddon } from '../../src/native.js';
import { CmdcmError } from '../../src/util/errors.js';
import {
  encodeVocab, hashBucket, hashBytes, hashBytesNative, hashBytesTS, hashVocab, hashVocabNative, hashVocabTS, layoutHash,
  nativeFeaturesAvailable,
} from '../../src/features/index.js';
import { fmix64Big, fnv1a64Big, hashBucketBig } from './oracle.js';
import { randInt, randString, rng } from './random.js';

process.env.CMDCM_LOG_LEVEL ??= 'silent';

const noNative = nativeFeaturesAvailable()
  ? false
  : `native addon unavailable (${loadAddon() ? 'loaded without hashVocab' : 'not built or CMDCM_NO_NATIVE=1'}): native half skipped`;
if (noNative) console.log(`# ${noNative}`);

const enc = new TextEncoder();

test('BigInt oracle matches published FNV-1a 64 vectors', () => {
  assert.equal(fnv1a64Big(enc.encode('')), 0xcbf29ce484222325n);
  assert.equal(fnv1a64Big(enc.encode('a')), 0xaf63dc4c8601ec8cn);
  assert.equal(fnv1a64Big(enc.encode('foobar')), 0x85944171f73967e8n);
  assert.equal(fmix64Big(0n), 0n);
});

/** A random field range: tiny, typical, and ones whose end touches the int32 limit. */
function randField(r: () => number, i: number): { name: string; offset: number; size: number } {
  const kind = i % 4;
  const size = kind === 0 ? randInt(r, 1, 3) : kind === 1 ? randInt(r, 1, 2_000_000) : kind === 2 ? randInt(r, 1 << 30, 0x7fffffff - 1) : 0x7fffffff - 1;
  const offset = randInt(r, 1, 0x7fffffff - size + 1);
  return { name: i % 5 === 0 ? randString(r) : ['user', 'item', 'category', 'seller'][i % 4], offset, size };
}

test('hashBucket and hashVocabTS equal the BigInt oracle on random unicode strings and ranges', () => {
  const r = rng(1);
  for (let f = 0; f < 40; f++) {
    const fh = randField(r, f);
    const values = Array.from({ length: 60 }, () => randString(r));
    const bulk = hashVocabTS(fh, values);
    values.forEach((v, i) => {
      const want = hashBucketBig(fh, v);
      assert.equal(hashBucket(fh, v), want, `field ${JSON.stringify(fh)} value ${JSON.stringify(v)}`);
      assert.equal(bulk[i], want);
      assert.ok(want >= fh.offset && want < fh.offset + fh.size);
    });
  }
});

test('hashVocabNative equals hashVocabTS exactly (unicode, ASCII fast path, \\0 inside values)', { skip: noNative }, () => {
  const r = rng(2);
  for (let f = 0; f < 24; f++) {
    const fh = randField(r, f);
    const ascii = f % 3 === 0;
    const values = Array.from({ length: randInt(r, 0, 3000) }, () => randString(r, ascii));
    const ts = hashVocabTS(fh, values);
    const nat = hashVocabNative(fh, values);
    assert.deepEqual(nat, ts, `field ${JSON.stringify(fh)}, ascii=${ascii}`);
    assert.deepEqual(hashVocab(fh, values), ts);
  }
  // More values than one native block (8192): blocks must land at the right place in the output.
  const many = Array.from({ length: 20_000 }, () => randString(r));
  const fhMany = randField(r, 1);
  assert.deepEqual(hashVocabNative(fhMany, many), hashVocabTS(fhMany, many));
  // Surrogate halves split across neighbouring values must not fuse into one code point.
  const fh = { name: 'item', offset: 1, size: 1_000_003 };
  const split = ['a\ud83d', '\ude00b', '\ud83d', '\ude00', '\ud83d\ude00', '', '\0', 'x\0y'];
  assert.deepEqual(hashVocabNative(fh, split), hashVocabTS(fh, split));
  assert.deepEqual(Array.from(hashVocabNative(fh, split)), split.map((v) => hashBucketBig(fh, v)));
});

test('hashVocab writes into a caller-provided array and rejects a short one', { skip: noNative }, () => {
  const fh = { name: 'user', offset: 5, size: 100 };
  const values = Array.from({ length: 100 }, (_, i) => `u${i}`);
  const buf = new Int32Array(120).fill(-1);
  const view = buf.subarray(10, 110);
  hashVocabNative(fh, values, view);
  assert.deepEqual(view, hashVocabTS(fh, values));
  assert.equal(buf[9], -1);
  assert.equal(buf[110], -1);
  assert.throws(() => hashVocabNative(fh, values, new Int32Array(99)), RangeError);
  assert.throws(() => hashVocabTS(fh, values, new Int32Array(99)), RangeError);
});

test('hashBytes over encodeVocab equals hashVocab, in TS and native', () => {
  const r = rng(5);
  for (let f = 0; f < 12; f++) {
    const fh = randField(r, f);
    const values = Array.from({ length: randInt(r, 0, 2000) }, () => randString(r, f % 2 === 0));
    const { bytes, starts } = encodeVocab(values);
    const want = hashVocabTS(fh, values);
    assert.deepEqual(hashBytesTS(fh, bytes, starts), want);
    assert.deepEqual(hashBytes(fh, bytes, starts), want);
    if (!noNative) assert.deepEqual(hashBytesNative(fh, bytes, starts), want);
    values.slice(0, 20).forEach((v, i) => assert.equal(want[i], hashBucketBig(fh, v)));
  }
  const bad = [Int32Array.of(0, 3, 2), Int32Array.of(0, 9), Int32Array.of(-1, 0), new Int32Array(0)];
  const bytes = new Uint8Array(4);
  const fh = { name: 'x', offset: 1, size: 10 };
  for (const starts of bad) {
    assert.throws(() => hashBytesTS(fh, bytes, starts), RangeError);
    if (!noNative) assert.throws(() => hashBytesNative(fh, bytes, starts), RangeError);
  }
});

test('bad field ranges are user errors', () => {
  assert.throws(() => hashBucket({ name: 'item', offset: 0, size: 10 }, 'x'), CmdcmError);
  assert.throws(() => hashBucket({ name: 'item', offset: 1, size: 0 }, 'x'), CmdcmError);
  assert.throws(() => hashVocabTS({ name: 'item', offset: 0x7fffffff, size: 2 }, ['x']), CmdcmError);
  assert.throws(() => hashBucket({ name: 'item', offset: 1, size: 2.5 }, 'x'), /size/);
});

/** Pearson chi-square of counts against a uniform expectation. */
function chiSquare(counts: Int32Array, total: number): number {
  const e = total / counts.length;
  let x = 0;
  for (const c of counts) x += ((c - e) * (c - e)) / e;
  return x;
}

test('buckets are roughly uniform for sequential numeric ids and random strings', () => {
  const k = 97;
  const fh = { name: 'item', offset: 1, size: k };
  const r = rng(3);
  for (const values of [
    Array.from({ length: 50_000 }, (_, i) => String(100000 + i)),
    // Distinct UTF-8 (as a vocabulary is): lone surrogates all encode as U+FFFD, so dedupe after it.
    [...new Set(Array.from({ length: 60_000 }, () => Buffer.from(randString(r)).toString('utf8')))],
  ]) {
    const rows = hashVocab(fh, values);
    const counts = new Int32Array(k);
    for (const row of rows) counts[row - 1]++;
    // df = 96: mean 96, sd ~13.9; 200 is > 7 sd above, yet far below any skewed hash.
    assert.ok(chiSquare(counts, values.length) < 200, `chi-square ${chiSquare(counts, values.length)}`);
  }
  // The high bits matter too: a power-of-two size only sees the low bits of the 64-bit hash.
  const fh2 = { name: 'item', offset: 1, size: 64 };
  const counts = new Int32Array(64);
  for (const row of hashVocab(fh2, Array.from({ length: 32_000 }, (_, i) => String(i)))) counts[row - 1]++;
  assert.ok(chiSquare(counts, 32_000) < 150);
});

test('layoutHash lays out contiguous ranges from row 1', () => {
  const { hash, tableRows } = layoutHash([{ name: 'user', size: 10 }, { name: 'item', size: 5 }, { name: 'behavior', size: 4 }, { name: 'gap', size: 16 }]);
  assert.deepEqual(hash, [
    { name: 'user', offset: 1, size: 10 },
    { name: 'item', offset: 11, size: 5 },
    { name: 'behavior', offset: 16, size: 4 },
    { name: 'gap', offset: 20, size: 16 },
  ]);
  assert.equal(tableRows, 36);
  assert.throws(() => layoutHash([{ name: 'a', size: 3 }, { name: 'a', size: 3 }]), /twice/);
  assert.throws(() => layoutHash([{ name: 'a', size: 0 }]), CmdcmError);
  assert.throws(() => layoutHash([{ name: 'a', size: 0x7fffffff }, { name: 'b', size: 1 }]), /int32/);
});
