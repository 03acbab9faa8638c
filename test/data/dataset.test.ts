import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, writeFileSync, readFileSync, rmSync, cpSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { prepare } from '../../src/data/prepare.js';
import { openDataset, DATASET_FORMAT_VERSION, type Split } from '../../src/data/dataset.js';
import { ingestEvents } from '../../src/data/events.js';
import { packSequencesTS } from '../../src/features/packing.js';
import { Rng } from '../../src/data/generate.js';
import { dayOfDate } from '../../src/data/calendar.js';
import type { LogEvent } from '../../src/data/types.js';
import { CmdcmError } from '../../src/util/errors.js';

process.env.CMDCM_LOG_LEVEL = 'silent';
const root = mkdtempSync(join(tmpdir(), 'cmdcm-ds-'));
after(() => rmSync(root, { recursive: true, force: true }));
const PROMOS = ['2014-11-11:10', '2014-12-12:10'];

/** Random hour-resolution events from 2014-11-01 up to (excluding) `endDate`. */
function events(seed: number, endDate: string): LogEvent[] {
  const rng = new Rng(seed);
  const t0 = dayOfDate('2014-11-01')! * 86400, hours = (dayOfDate(endDate)! - dayOfDate('2014-11-01')!) * 24;
  const out: LogEvent[] = [];
  for (let u = 0; u < 40; u++) {
    for (let k = 0; k < 150; k++) {
      const it = rng.int(50), r = rng.next();
      out.push({ user: 'u' + u, item: 'i' + it, category: 'c' + (it % 7), behavior: (r < 0.7 ? 0 : r < 0.75 ? 1 : r < 0.88 ? 2 : 3) as 0 | 1 | 2 | 3, time: t0 + rng.int(hours) * 3600 });
    }
  }
  return out;
}

async function build(name: string, evs: LogEvent[], extra: { validDays?: number; shardSize?: number } = {}) {
  const out = join(root, name);
  await prepare({ events: evs, eventsFormat: 'tianchi2014', eventsResolution: 'hour', promos: PROMOS, out, progress: false, shardSize: extra.shardSize ?? 500, validDays: extra.validDays });
  return out;
}

test('splits and masks (as-of): train = history minus valid days + the target before asOf (delayed masked, young labels masked); valid = last days of the latest history; test = the target from asOf on', async () => {
  for (const [endDate, known] of [['2014-12-13', true], ['2014-12-10', false]] as const) {
    const evs = events(1, endDate);
    const dir = await build(`splits-${known}`, evs, { validDays: 3 });
    const ds = await openDataset(dir);
    const asOf = ds.meta.asOf, h = ds.meta.labelHorizons;
    assert.equal(ds.meta.targetOutcomeKnown, known);
    assert.equal(ds.meta.formatVersion, DATASET_FORMAT_VERSION);
    assert.equal(asOf, (dayOfDate('2014-12-12')! - 3) * 86400, 'default asOf: the target day minus 3 days');
    assert.ok(h.atc >= 1 && h.direct >= 1);
    const got: Record<Split, Awaited<ReturnType<typeof ds.load>>> = { train: await ds.load('train'), valid: await ds.load('valid'), test: await ds.load('test') };
    const validFrom = dayOfDate('2014-11-11')! - 3;
    let young = 0, mature = 0;
    for (let k = 0; k < got.train.n; k++) {
      const tgt = got.train.promo[k] === 1;
      const t = got.train.time[k];
      if (tgt) {
        assert.ok(t < asOf, 'a training click of the target is before asOf');
        const m = Array.from(got.train.mask.subarray(3 * k, 3 * k + 3));
        assert.deepEqual(m, [asOf - t >= h.direct * 3600 ? 1 : 0, asOf - t >= h.atc * 3600 ? 1 : 0, 0]);
        assert.equal(got.train.labels[3 * k + 2], 0, 'the delayed label of a training click is not stored');
        if (m[1] === 0) young++; else mature++;
      } else {
        assert.deepEqual(Array.from(got.train.mask.subarray(3 * k, 3 * k + 3)), [1, 1, 1]);
        assert.ok(Math.floor(t / 86400) < validFrom);
      }
    }
    assert.ok(young > 0, `young target training clicks are masked (${young} young, ${mature} mature)`);
    for (let k = 0; k < got.valid.n; k++) {
      assert.equal(got.valid.promo[k], 0);
      assert.ok(Math.floor(got.valid.time[k] / 86400) >= validFrom);
      assert.deepEqual(Array.from(got.valid.mask.subarray(3 * k, 3 * k + 3)), [1, 1, 1]);
    }
    for (let k = 0; k < got.test.n; k++) {
      assert.equal(got.test.promo[k], 1);
      assert.ok(got.test.time[k] >= asOf);
      assert.deepEqual(Array.from(got.test.mask.subarray(3 * k, 3 * k + 3)), [1, 1, known ? 1 : 0]);
    }
    assert.ok(got.valid.n > 0 && got.test.n > 0 && got.train.n > got.test.n);
    // every click in a pre-window is exactly one sample: count clicks independently
    const inWin = (t: number, day: number) => { const d = Math.floor(t / 86400); return d >= day - 10 && d < day; };
    const hist = evs.filter((e) => e.behavior === 0 && inWin(e.time, dayOfDate('2014-11-11')!)).length;
    const tgtBefore = evs.filter((e) => e.behavior === 0 && inWin(e.time, dayOfDate('2014-12-12')!) && e.time < asOf).length;
    const tgtAfter = evs.filter((e) => e.behavior === 0 && inWin(e.time, dayOfDate('2014-12-12')!) && e.time >= asOf).length;
    assert.equal(got.test.n, tgtAfter);
    assert.equal(got.train.n + got.valid.n, hist + tgtBefore);
    assert.equal(ds.meta.counts.samples, hist + tgtBefore + tgtAfter);
    if (!known) {
      // the target's delayed labels are all zero when its day is not in the log
      for (let k = 0; k < got.test.n; k++) assert.equal(got.test.labels[3 * k + 2], 0);
    }
  }
});

test('loaded sequences equal packSequencesTS over the whole grouped log (independent path)', async () => {
  const evs = events(2, '2014-12-13');
  const dir = await build('seq', evs, { shardSize: 97 });
  const ds = await openDataset(dir);
  const g = await ingestEvents(evs, { format: 'tianchi2014', resolution: 'hour' });
  const itemFh = ds.schema.hash.find((h) => h.name === 'item')!, catFh = ds.schema.hash.find((h) => h.name === 'category')!;
  const { hashVocabTS } = await import('../../src/features/hashing.js');
  const itemRows = hashVocabTS(itemFh, g.vocab.item), catRows = hashVocabTS(catFh, g.vocab.category);
  const itemRow = new Int32Array(g.n), catRow = new Int32Array(g.n);
  for (let k = 0; k < g.n; k++) { itemRow[k] = itemRows[g.item[k]]; catRow[k] = catRows[g.category[k]]; }
  const { users } = await ds.vocab();
  for (const split of ['train', 'valid', 'test'] as const) {
    const s = await ds.load(split);
    const sampleUser = new Int32Array(s.n);
    for (let k = 0; k < s.n; k++) sampleUser[k] = g.vocab.user.indexOf(users[s.user[k]]);
    const ref = packSequencesTS({
      time: g.time, itemRow, catRow, behavior: g.behavior, userStart: g.userStart, sampleUser, sampleTime: s.time,
      seqLen: ds.schema.seqLen, resolution: 3600, behaviorOffset: ds.schema.hash.find((h) => h.name === 'behavior')!.offset,
      gapOffset: ds.schema.hash.find((h) => h.name === 'gap')!.offset, gapBuckets: 16,
    });
    assert.deepEqual(s.seqLen, ref.seqLen, split);
    assert.ok(Buffer.from(s.seq.buffer).equals(Buffer.from(ref.seq.buffer)), `${split}: seq differs`);
  }
});

test('lazy sequences: batches gathered from a lazily loaded split equal those of an eager load (addon and TS gathers)', async () => {
  const dir = await build('lazy', events(3, '2014-12-13'), { shardSize: 61 });
  const ds = await openDataset(dir);
  const { gatherBatchTS, gatherBatchNative } = await import('../../src/features/gather.js');
  const { gatherColumns } = await import('../../src/data/batch.js');
  const { nativeFeaturesAvailable } = await import('../../src/features/index.js');
  const rng = new Rng(11);
  for (const split of ['train', 'valid', 'test'] as const) {
    const eager = await ds.load(split), lazy = await ds.load(split, { lazySequences: true });
    assert.equal(lazy.n, eager.n);
    assert.equal(lazy.seq.length, 0, 'no materialized sequences');
    assert.ok(eager.seq.some((v) => v !== 0), 'the split has history');
    for (const m of [1, 7, Math.min(300, eager.n)]) {
      // random samples across shards, repeats allowed
      const idx = Int32Array.from({ length: m }, () => rng.int(eager.n));
      const want = gatherBatchTS(ds.schema, eager, idx);
      const gathers = [gatherBatchTS, ...(nativeFeaturesAvailable() ? [gatherBatchNative] : [])];
      for (const gather of gathers) assert.deepEqual(gather(ds.schema, lazy, idx), want, `${split} ${gather.name} m=${m}`);
      const viaColumns = gatherColumns(ds.schema, lazy, idx);
      assert.deepEqual({ ...viaColumns }, { ...want }, `${split} gatherColumns m=${m}`);
    }
    assert.throws(() => gatherBatchTS(ds.schema, lazy, Int32Array.of(eager.n)), /not a sample of the source/);
    // contiguous slices (validation and prediction walk a split so) pack their sequences too
    const { sliceColumns } = await import('../../src/train/columns.js');
    const a = Math.floor(eager.n / 3), b = Math.min(eager.n, a + 50);
    const ls = sliceColumns(ds.schema, lazy, a, b), es = sliceColumns(ds.schema, eager, a, b);
    assert.deepEqual(ls.seq, es.seq, split);
    assert.deepEqual(ls.seqLen, es.seqLen, split);
    assert.deepEqual(ls.fields, es.fields, split);
  }
});

test('openDataset: clear errors for a missing dir, missing meta.json, bad version, missing shard', async () => {
  const dir = await build('errs', events(3, '2014-12-13'));
  const isErr = (re: RegExp) => (e: unknown) => e instanceof CmdcmError && re.test(e.message);
  await assert.rejects(openDataset(join(root, 'nope')), isErr(/nope: dataset directory not found/));
  const empty = join(root, 'empty');
  mkdirSync(empty);
  await assert.rejects(openDataset(empty), isErr(/empty\/meta\.json: missing: .* is not a complete dataset/));
  const v = join(root, 'v2');
  cpSync(dir, v, { recursive: true });
  const meta = JSON.parse(readFileSync(join(v, 'meta.json'), 'utf8'));
  writeFileSync(join(v, 'meta.json'), JSON.stringify({ ...meta, formatVersion: 99 }));
  await assert.rejects(openDataset(v), isErr(/v2\/meta\.json: dataset format version 99, but this cmdcm reads version 3/));
  const ms = join(root, 'missing-shard');
  cpSync(dir, ms, { recursive: true });
  rmSync(join(ms, meta.shards[0].file));
  await assert.rejects(openDataset(ms), isErr(new RegExp(`${meta.shards[0].file}: shard file is missing`)));
  writeFileSync(join(v, 'meta.json'), '{not json');
  await assert.rejects(openDataset(v), isErr(/meta\.json: not valid JSON/));
  const ds = await openDataset(dir);
  await assert.rejects(ds.load('bogus' as Split), isErr(/unknown split 'bogus'/));
});
