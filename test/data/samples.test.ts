import type { LogEvent, GroupedEvents } from '../../src/data/types.js';
import { SECONDS_PER_HOUR } from '../../src/data/types.js';
import { ingestEvents } from '../../src/data/events.js';
import { buildCalendar } from '../../src/data/calendar.js';
import { buildSamples } from '../../src/data/samples.js';
import { planSamples, inRankOrder, type SampleOptions } from '../../src/data/sample-plan.js';
import type { SampleChunk } from '../../src/data/chunks.js';
import { packChunk } from '../../src/data/sequences.js';
import { dayOfDate } from '../../src/data/calendar.js';

/** Test-only helpers: hand-built hour-resolution events and a flat view of the built samples. */

/** Local seconds of 'YYYY-MM-DD HH'. */
function at(s: string): number {
  const [d, h] = s.split(' ');
  return dayOfDate(d)! * 86400 + Number(h ?? 0) * SECONDS_PER_HOUR;
}

function ev(user: string, item: string, behavior: 0 | 1 | 2 | 3, time: string, category = 'c' + item): LogEvent {
  return { user, item, category, behavior, time: at(time) };
}

interface FlatSample {
  user: string; item: string; time: number; promo: number;
  labels: number[]; mask: number[]; fields: number[]; dense: number[]; seq: number[]; seqLen: number; daysToPromo: number;
}

async function group(events: LogEvent[]): Promise<GroupedEvents> {
  return ingestEvents(events, { format: 'tianchi2014', resolution: 'hour' });
}

async function samplesOf(events: LogEvent[], promos: string[], opts: SampleOptions & { shardSize?: number; denseItemDayCells?: number } = {}): Promise<FlatSample[]> {
  const g = await group(events);
  const cal = buildCalendar(promos);
  const plan = planSamples(g, cal, opts);
  const chunks: SampleChunk[] = [];
  await buildSamples(g, cal, plan, (c) => { chunks.push(c); }, { shardSize: opts.shardSize ?? 7, denseItemDayCells: opts.denseItemDayCells });
  const L = plan.schema.seqLen, F = plan.schema.fields.length, S = plan.schema.dense.length;
  const users = inRankOrder(g.vocab.user, plan.ids.user), items = inRankOrder(g.vocab.item, plan.ids.item);
  const out: FlatSample[] = [];
  for (const c of chunks) {
    const seq = new Int32Array(c.n * L * 4), seqLen = new Int32Array(c.n);
    packChunk(c.columns, plan.schema, 3600, seq, seqLen, 0);
    const col = c.columns;
    for (let k = 0; k < c.n; k++) {
      out.push({
        user: users[col.user[k]], item: items[col.item[k]], time: col.time[k], promo: c.promo,
        labels: Array.from(col.labels.subarray(k * 3, k * 3 + 3)), mask: Array.from(col.mask.subarray(k * 3, k * 3 + 3)),
        fields: Array.from(col.fields.subarray(k * F, k * F + F)), dense: Array.from(col.dense.subarray(k * S, k * S + S)),
        seq: Array.from(seq.subarray(k * L * 4, (k + 1) * L * 4)), seqLen: seqLen[k], daysToPromo: col.daysToPromo[k],
      });
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../src/data/generate.js';
import { assertNoLabelColumns, bucketsFor } from '../../src/data/sample-plan.js';
import { DENSE_FEATURES } from '../../src/data/dense-features.js';

const PROMOS = ['2014-11-11:10', '2014-12-12:10'];
const DIRECT = 0, ATC = 1, DELAYED = 2;
const find = (ss: FlatSample[], user: string, item: string, time: string) => ss.filter((s) => s.user === user && s.item === item && s.time === at(time));

test('click then cart in the same hour counts as atc; a buy on the promotion day is delayed', async () => {
  const ss = await samplesOf([
    ev('u1', 'i1', 0, '2014-12-05 10'),
    ev('u1', 'i1', 2, '2014-12-05 10'), // same hour, logged after the click
    ev('u1', 'i1', 3, '2014-12-12 00'),
    ev('u1', 'i2', 0, '2014-12-06 09'),
  ], PROMOS);
  const [s1] = find(ss, 'u1', 'i1', '2014-12-05 10');
  assert.deepEqual(s1.labels, [0, 1, 1]);
  const [s2] = find(ss, 'u1', 'i2', '2014-12-06 09');
  assert.deepEqual(s2.labels, [0, 0, 0]);
  assert.equal(ss.length, 2, 'only clicks are samples');
  assert.equal(s1.daysToPromo, 7);
});

test('same-hour cart logged BEFORE the click in the file still counts (hour resolution)', async () => {
  const ss = await samplesOf([ev('u1', 'i1', 2, '2014-12-05 10'), ev('u1', 'i1', 0, '2014-12-05 10')], PROMOS);
  assert.deepEqual(ss[0].labels, [0, 1, 0]);
});

test('a buy before the promotion day is direct, not delayed, even with a promotion-day buy too', async () => {
  const ss = await samplesOf([
    ev('u1', 'i1', 0, '2014-12-05 10'),
    ev('u1', 'i1', 3, '2014-12-09 20'),
    ev('u1', 'i1', 3, '2014-12-12 01'),
  ], PROMOS);
  assert.deepEqual(ss[0].labels, [1, 0, 0]);
});

test('events before the click, or after the promotion day, do not label it', async () => {
  const ss = await samplesOf([
    ev('u1', 'i1', 2, '2014-12-05 09'), // cart an hour before
    ev('u1', 'i1', 3, '2014-12-05 08'),
    ev('u1', 'i1', 0, '2014-12-05 10'),
    ev('u1', 'i1', 3, '2014-12-13 00'), // the day after
    ev('u1', 'i2', 3, '2014-12-12 05'), // another item
  ], PROMOS);
  assert.equal(ss.length, 1);
  assert.deepEqual(ss[0].labels, [0, 0, 0]);
});

test('several clicks on one item each get the labels of what follows them', async () => {
  const ss = await samplesOf([
    ev('u1', 'i1', 0, '2014-12-03 10'),
    ev('u1', 'i1', 0, '2014-12-04 10'),
    ev('u1', 'i1', 2, '2014-12-04 11'),
    ev('u1', 'i1', 0, '2014-12-06 10'),
    ev('u1', 'i1', 0, '2014-12-06 10'), // two clicks in one hour: two samples
    ev('u1', 'i1', 3, '2014-12-12 10'),
  ], PROMOS);
  assert.equal(ss.length, 4);
  assert.deepEqual(find(ss, 'u1', 'i1', '2014-12-03 10')[0].labels, [0, 1, 1]);
  assert.deepEqual(find(ss, 'u1', 'i1', '2014-12-04 10')[0].labels, [0, 1, 1]);
  const late = find(ss, 'u1', 'i1', '2014-12-06 10');
  assert.equal(late.length, 2);
  for (const s of late) assert.deepEqual(s.labels, [0, 0, 1]);
  // features: the later click saw the earlier clicks and the cart; the 12-03 click saw nothing
  const first = find(ss, 'u1', 'i1', '2014-12-03 10')[0];
  const col = (name: string) => (DENSE_FEATURES as readonly string[]).indexOf(name);
  assert.equal(first.seqLen, 0);
  assert.equal(first.dense[col('u_win_click')], 0);
  assert.equal(late[0].seqLen, 3, 'events strictly before the hour: 2 clicks + 1 cart');
  assert.equal(late[1].seqLen, 3, 'the other click in the same hour is not in the sequence');
  assert.ok(Math.abs(late[0].dense[col('u_win_click')] - Math.log1p(2)) < 1e-6);
  assert.ok(Math.abs(late[0].dense[col('u_win_cart')] - Math.log1p(1)) < 1e-6);
  assert.equal(late[0].dense[col('ui_win_carted')], 1);
});

test('clicks outside pre-windows are not samples; each pre-window click belongs to its promotion', async () => {
  const ss = await samplesOf([
    ev('u1', 'i1', 0, '2014-10-31 10'),
    ev('u1', 'i1', 0, '2014-11-01 00'),
    ev('u1', 'i1', 0, '2014-11-10 23'),
    ev('u1', 'i1', 0, '2014-11-11 10'), // promotion day
    ev('u1', 'i1', 0, '2014-11-20 10'),
    ev('u1', 'i1', 0, '2014-12-02 00'),
    ev('u1', 'i1', 0, '2014-12-12 10'),
  ], PROMOS);
  assert.deepEqual(ss.map((s) => [s.promo, s.daysToPromo]).sort(), [[0, 1], [0, 10], [1, 10]]);
});

test('masks: historical promotions all 1; the target\'s delayed mask is 1 only when the log reaches its day', async () => {
  const base = [ev('u1', 'i1', 0, '2014-11-05 10'), ev('u1', 'i1', 0, '2014-12-05 10')];
  const known = await samplesOf([...base, ev('u2', 'i9', 0, '2014-12-12 03')], PROMOS);
  for (const s of known) assert.deepEqual(s.mask, [1, 1, 1]);
  const unknown = await samplesOf([...base, ev('u2', 'i9', 0, '2014-12-11 03')], PROMOS);
  assert.deepEqual(unknown.find((s) => s.promo === 0)!.mask, [1, 1, 1]);
  for (const s of unknown.filter((x) => x.promo === 1)) assert.deepEqual(s.mask, [1, 1, 0]);
});

test('historical statistics: the cart -> promotion-day-buy rate of earlier pre-windows reaches later samples only', async () => {
  const ss = await samplesOf([
    ev('u1', 'a', 0, '2014-11-03 10'), ev('u1', 'a', 2, '2014-11-03 11'), ev('u1', 'a', 3, '2014-11-11 00'),
    ev('u1', 'b', 0, '2014-11-04 10'), ev('u1', 'b', 2, '2014-11-04 11'),
    ev('u1', 'c', 0, '2014-12-05 10'),
  ], PROMOS);
  const col = (name: string) => (DENSE_FEATURES as readonly string[]).indexOf(name);
  const hist = ss.filter((s) => s.promo === 0), tgt = ss.filter((s) => s.promo === 1);
  for (const s of hist) { assert.equal(s.dense[col('u_has_hist')], 0); assert.equal(s.dense[col('u_hist_cart')], 0); }
  // 2 carted items, 1 bought on 11-11: (1 + 0.2*2) / (2 + 2)
  assert.ok(Math.abs(tgt[0].dense[col('u_hist_cart_promo_buy_rate')] - 1.4 / 4) < 1e-6);
  assert.equal(tgt[0].dense[col('u_has_hist')], 1);
  assert.ok(Math.abs(tgt[0].dense[col('u_hist_click')] - Math.log1p(2)) < 1e-6);
  // the delayed labels of the historical clicks
  assert.deepEqual(hist.map((s) => s.labels[DELAYED]), [1, 0]);
});

test('label-derived feature names are refused', () => {
  for (const bad of ['direct', 'atc', 'delayed', 'label', 'u_delayed_rate', 'atc_count', 'label_smooth']) {
    assert.throws(() => assertNoLabelColumns(['u_win_click', bad]), /refusing label-derived/, bad);
  }
  assertNoLabelColumns([...DENSE_FEATURES]);
});

test('bucketsFor: next power of two >= 2x distinct, 64x for small enumerations, capped', () => {
  assert.equal(bucketsFor(1000, 1 << 20), 2048);
  assert.equal(bucketsFor(1024, 1 << 20), 2048);
  assert.equal(bucketsFor(1025, 1 << 20), 4096);
  assert.equal(bucketsFor(24, 1 << 20), 2048);
  assert.equal(bucketsFor(5_000_000, 1 << 20), 1 << 20);
});

/** Random hour-resolution events for `nUsers` users over the two promotions. */
function randomEvents(seed: number, nUsers: number, perUser: number): LogEvent[] {
  const rng = new Rng(seed);
  const out: LogEvent[] = [];
  const t0 = at('2014-11-01 00'), span = 42 * 24;
  for (let u = 0; u < nUsers; u++) {
    for (let k = 0; k < perUser; k++) {
      const it = rng.int(12);
      const r = rng.next();
      out.push({ user: 'u' + u, item: 'i' + it, category: 'c' + (it % 4), behavior: (r < 0.6 ? 0 : r < 0.7 ? 1 : r < 0.85 ? 2 : 3) as 0 | 1 | 2 | 3, time: t0 + rng.int(span) * 3600 });
    }
  }
  return out;
}

test('no leakage: events at or after a click never change its features (byte-identical)', async () => {
  const base = randomEvents(7, 6, 120);
  const sizes = { user: 64, item: 64, category: 16, dtp: 64, hour: 64 };
  const before = await samplesOf(base, PROMOS, { hashSizes: sizes, seqLen: 20 });
  const rng = new Rng(99);
  const probes = [0, 1, 2, 3, 4, 5, 6, 7].map(() => before[rng.int(before.length)]);
  for (const probe of probes) {
    const t = probe.time;
    // mutate every event at or after t (behavior flips) and add new events at t and later, for all users
    const mutated = base.map((e) => (e.time >= t ? { ...e, behavior: ((e.behavior + 1) % 4) as 0 | 1 | 2 | 3 } : e));
    for (let u = 0; u < 6; u++) {
      for (const b of [0, 1, 2, 3] as const) {
        mutated.push({ user: 'u' + u, item: probe.item, category: 'c' + (Number(probe.item.slice(1)) % 4), behavior: b, time: t });
        mutated.push({ user: 'u' + u, item: 'i' + rng.int(12), category: 'c1', behavior: b, time: t + 3600 * (1 + rng.int(100)) });
      }
    }
    const after = await samplesOf(mutated, PROMOS, { hashSizes: sizes, seqLen: 20 });
    const key = (s: FlatSample) => `${s.user}|${s.item}|${s.time}`;
    const b0 = before.filter((s) => key(s) === key(probe));
    const a0 = after.filter((s) => key(s) === key(probe));
    assert.ok(a0.length >= 1, 'the probe click still exists (its own behavior may have flipped; then it is added back as a click)');
    const feats = (s: FlatSample) => JSON.stringify([s.fields, s.dense, s.seq, s.seqLen, s.daysToPromo]);
    // the original click keeps its features; at most clicks added at the same time share them
    assert.equal(feats(a0[0]), feats(b0[0]), `features of ${key(probe)} changed`);
    for (const s of a0) assert.equal(feats(s), feats(b0[0]));
  }
  // and the mutation is not a no-op: some labels did change somewhere
  const t = probes[0].time;
  const after = await samplesOf(base.map((e) => (e.time >= t ? { ...e, behavior: 3 as const } : e)), PROMOS, { hashSizes: sizes, seqLen: 20 });
  const labelsOf = (ss: FlatSample[]) => JSON.stringify(ss.filter((s) => s.time < t).map((s) => s.labels));
  assert.notEqual(labelsOf(after), labelsOf(before), 'mutating later events must change earlier clicks\' labels');
});

test('features are computed from earlier events: adding an earlier event does change them (the leakage test can fail)', async () => {
  const base = randomEvents(3, 2, 80);
  const sizes = { user: 64, item: 64, category: 16, dtp: 64, hour: 64 };
  const before = await samplesOf(base, PROMOS, { hashSizes: sizes });
  const probe = before.find((s) => s.promo === 1 && s.daysToPromo < 5)!;
  const withEarlier = [...base, { user: probe.user, item: probe.item, category: 'c0', behavior: 2 as const, time: probe.time - 3600 }];
  const after = await samplesOf(withEarlier, PROMOS, { hashSizes: sizes });
  const a = after.find((s) => s.user === probe.user && s.item === probe.item && s.time === probe.time)!;
  assert.notDeepEqual(a.seq, probe.seq);
  assert.notDeepEqual(a.dense, probe.dense);
});

test('item statistics: dense and sparse layouts give identical features, and equal a brute-force count', async () => {
  const evs = randomEvents(11, 8, 150);
  const dense = await samplesOf(evs, PROMOS, { denseItemDayCells: 1 << 30 });
  const sparse = await samplesOf(evs, PROMOS, { denseItemDayCells: 0 });
  assert.equal(JSON.stringify(dense), JSON.stringify(sparse));
  const col = (name: string) => (DENSE_FEATURES as readonly string[]).indexOf(name);
  for (const s of dense.filter((_, i) => i % 17 === 0)) {
    const day = Math.floor(s.time / 86400);
    const before = evs.filter((e) => e.item === s.item && Math.floor(e.time / 86400) < day);
    const clicks = before.filter((e) => e.behavior === 0).length, carts = before.filter((e) => e.behavior === 2).length;
    const firstDay = Math.min(...evs.map((e) => Math.floor(e.time / 86400)));
    assert.ok(Math.abs(s.dense[col('i_click')] - Math.log1p((7 * clicks) / Math.max(1, day - firstDay))) < 1e-5);
    assert.ok(Math.abs(s.dense[col('i_cart_rate')] - (carts + 0.5) / (clicks + 10)) < 1e-6);
    const promoBuys = before.filter((e) => e.behavior === 3 && Math.floor(e.time / 86400) === dayOfDate('2014-11-11')!).length;
    assert.ok(Math.abs(s.dense[col('i_promo_buy')] - Math.log1p(promoBuys)) < 1e-5);
  }
});
