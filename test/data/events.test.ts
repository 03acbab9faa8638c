import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ingestEvents, loadEvents, groupPermutation, EventStoreBuilder } from '../../src/data/events.js';
import { IdInterner } from '../../src/data/readers/intern.js';
import type { Behavior, GroupedEvents, LogEvent } from '../../src/data/types.js';

const dir = mkdtempSync(join(tmpdir(), 'cmdcm-events-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function lcg(seed: number): (n: number) => number {
  let s = seed >>> 0;
  return (n) => { s = (s * 1664525 + 1013904223) >>> 0; return s % n; };
}

/** Oracle: per user (by raw id), events sorted by time with a stable sort over input order. */
function naiveGroups(evs: LogEvent[]): Map<string, string[]> {
  const by = new Map<string, { t: number; i: number; key: string }[]>();
  evs.forEach((e, i) => {
    if (!by.has(e.user)) by.set(e.user, []);
    by.get(e.user)!.push({ t: e.time, i, key: `${e.item}|${e.category}|${e.behavior}|${e.time}|${e.seller ?? '-'}` });
  });
  const out = new Map<string, string[]>();
  for (const [u, list] of by) out.set(u, list.sort((a, b) => a.t - b.t || a.i - b.i).map((x) => x.key));
  return out;
}

function groupsOf(g: GroupedEvents): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (let u = 0; u < g.vocab.user.length; u++) {
    const list: string[] = [];
    for (let i = g.userStart[u]; i < g.userStart[u + 1]; i++) {
      assert.equal(g.user[i], u);
      const s = g.seller ? g.seller[i] : -1;
      list.push(`${g.vocab.item[g.item[i]]}|${g.vocab.category[g.category[i]]}|${g.behavior[i]}|${g.time[i]}|${s < 0 ? '-' : g.vocab.seller![s]}`);
    }
    out.set(g.vocab.user[u], list);
  }
  return out;
}

function randomEvents(r: (n: number) => number, n: number): LogEvent[] {
  const evs: LogEvent[] = [];
  const users = 1 + r(30);
  for (let i = 0; i < n; i++) {
    const e: LogEvent = {
      user: r(5) === 0 ? `u${r(users)}` : String(1000 + r(users)),
      item: String(r(50)), category: `c${r(7)}`,
      behavior: r(4) as Behavior,
      time: 1_400_000_000 + r(20) * 3600, // few distinct times: many ties to keep in input order
    };
    if (r(3) === 0) e.seller = String(r(9));
    evs.push(e);
  }
  return evs;
}

test('grouping: CSR by user, stable time sort, on shuffled input (property test vs a naive sort)', async () => {
  const r = lcg(7);
  for (let trial = 0; trial < 60; trial++) {
    const evs = randomEvents(r, r(400));
    const g = await ingestEvents(evs);
    assert.equal(g.n, evs.length);
    assert.equal(g.userStart[0], 0);
    assert.equal(g.userStart[g.userStart.length - 1], evs.length);
    assert.deepEqual(groupsOf(g), naiveGroups(evs));
    // user index u is the interned user id, in first-seen order
    const firstSeen = [...new Set(evs.map((e) => e.user))];
    assert.deepEqual(g.vocab.user, firstSeen);
  }
});

test('groupPermutation: one-pass and two-digit radix paths agree with a naive stable sort', () => {
  const r = lcg(11);
  // small span (one counting pass), a span wider than 2^16 and n (two 16-bit passes), a huge span
  // hour and day multiples (sorted on hours / days) with an offset that is not a multiple itself
  for (const [span, unit] of [[100, 1], [5_000_000, 1], [2_000_000_000, 1], [700, 3600], [300, 86400], [200_000, 3600]]) {
    const n = 20000, users = 3;
    const user = new Int32Array(n), time = new Int32Array(n);
    for (let i = 0; i < n; i++) { user[i] = r(users); time[i] = -1_000_000_007 + unit * (r(2) ? r(span) : r(50)); }
    const { userStart, perm } = groupPermutation(user, time, n, users);
    const want = Array.from({ length: n }, (_, i) => i).sort((a, b) => user[a] - user[b] || time[a] - time[b] || a - b);
    assert.deepEqual(Array.from(perm), want, `span ${span}`);
    assert.deepEqual(Array.from(userStart), [0, ...[0, 1, 2].map((u) => want.filter((i) => user[i] <= u).length)]);
  }
  assert.deepEqual(Array.from(groupPermutation(new Int32Array(0), new Int32Array(0), 0, 0).perm), []);
});

test('groupPermutation: time-ordered input (the one-pass path) and one late event (back to the full sort)', () => {
  const r = lcg(17);
  for (const users of [1, 5, 3000, 65536]) {
    for (const late of [false, true]) {
      const n = 30000;
      const user = new Int32Array(n), time = new Int32Array(n);
      let t = 1_400_000_000;
      for (let i = 0; i < n; i++) { user[i] = r(users); t += 3600 * r(2); time[i] = t; }
      // one user's event moved back in time, so only the full sort orders that user correctly
      if (late) { const i = n - 1 - r(100); user[i] = user[r(100)]; time[i] = 1_400_000_000 - 7200; }
      const { userStart, perm } = groupPermutation(user, time, n, users);
      const want = Array.from({ length: n }, (_, i) => i).sort((a, b) => user[a] - user[b] || time[a] - time[b] || a - b);
      assert.deepEqual(Array.from(perm), want, `users ${users} late ${late}`);
      const counts = new Array(users + 1).fill(0);
      for (let i = 0; i < n; i++) counts[user[i] + 1]++;
      for (let u = 0; u < users; u++) counts[u + 1] += counts[u];
      assert.deepEqual(Array.from(userStart), counts);
    }
  }
});

test('ingestEvents accepts arrays, generators and async iterables alike, and validates events', async () => {
  const evs = randomEvents(lcg(3), 300);
  async function* gen() { for (const e of evs) yield e; }
  const a = await ingestEvents(evs, { format: 'tianchi2014', resolution: 'hour' });
  const b = await ingestEvents(gen(), { format: 'tianchi2014', resolution: 'hour' });
  assert.deepEqual(groupsOf(a), groupsOf(b));
  assert.equal(b.format, 'tianchi2014');
  assert.equal(b.resolution, 'hour');
  await assert.rejects(ingestEvents([{ user: 'a', item: 'b', category: 'c', behavior: 7 as Behavior, time: 0 }]), /event 0: behavior must be 0\.\.3/);
  await assert.rejects(ingestEvents([evs[0], { user: '', item: 'b', category: 'c', behavior: 0, time: 0 }]), /event 1: 'user' must be a non-empty string/);
  await assert.rejects(ingestEvents([{ user: 'a', item: 'b', category: 'c', behavior: 0, time: 1.5 }]), /time must be integer/);
});

test('interning: integer ids and their float spelling are one id, leading zeros and strings stay distinct', () => {
  const it = new IdInterner(2);
  const ids = ['2661', '2661.0', '2661.00', '02661', 'abc', '0', '0.0', '00', '9007199254740993', '123456789012345', '1234567890123456', 'x.0', '1.', '1.5'];
  const got = ids.map((s) => it.internString(s));
  assert.equal(got[0], got[1]);
  assert.equal(got[0], got[2]);
  assert.notEqual(got[0], got[3]);
  assert.equal(got[5], got[6]);
  assert.notEqual(got[5], got[7]);
  assert.equal(new Set(got).size, ids.length - 3);
  const strs = it.strings();
  assert.equal(strs[got[1]], '2661');
  for (const [i, s] of ids.entries()) if (![1, 2, 6].includes(i)) assert.equal(strs[got[i]], s, s);
  // bytes and strings intern to the same index
  const buf = Buffer.from('02661,2661.0,abc,4294967296,2147483648');
  assert.equal(it.internBytes(buf, 0, 5), got[3]);
  assert.equal(it.internBytes(buf, 6, 12), got[0]);
  assert.equal(it.internBytes(buf, 13, 16), got[4]);
  const big = it.internBytes(buf, 17, 27), mid = it.internBytes(buf, 28, 38);
  assert.equal(it.internString('4294967296'), big);
  assert.equal(it.internString('2147483648'), mid);
  assert.equal(it.strings()[big], '4294967296');
  assert.equal(it.find('2661.0'), got[0]);
  assert.equal(it.find('nope'), -1);
  assert.equal(it.find('77'), -1);
});

test('interning many ids through table growth keeps first-seen indices', () => {
  const it = new IdInterner(2);
  const r = lcg(5);
  const seen = new Map<string, number>();
  for (let i = 0; i < 50000; i++) {
    const v = r(3) === 0 ? `g${r(5000)}` : String(r(3) === 0 ? 3_000_000_000 + r(8000) : r(20000));
    const want = seen.get(v) ?? seen.size;
    if (!seen.has(v)) seen.set(v, want);
    const b = Buffer.from(v);
    assert.equal(it.internBytes(b, 0, b.length), want);
  }
  assert.deepEqual(it.strings(), [...seen.keys()]);
});

test('loadEvents over files of different formats: shared vocabularies, coarsest resolution, side columns -1 where absent', async () => {
  const t = join(dir, 't.csv'), m = join(dir, 'm.csv');
  writeFileSync(t, 'user_id,item_id,behavior_type,user_geohash,item_category,time\n5,100,1,abc,7,2015-11-10 09\n6,101,4,,7,2015-11-11 23\n');
  writeFileSync(m, 'user_id,item_id,cat_id,seller_id,brand_id,time_stamp,action_type\n5,100,7,44,3.0,1111,2\n5,102,8,45,,1109,0\n');
  const progress: number[] = [];
  const { events: g, reports } = await loadEvents([t, m], {}, (p) => progress.push(p.fileIndex));
  assert.deepEqual(reports.map((r) => r.format), ['tianchi2014', 'tmall2015']);
  assert.ok(progress.includes(0) && progress.includes(1));
  assert.equal(g.format, 'generic');
  assert.equal(g.resolution, 'day');
  assert.deepEqual(g.vocab.user, ['5', '6']);
  const u5 = Array.from({ length: g.userStart[1] }, (_, i) => i);
  // user 5, time order: tianchi 11-10 09h, tmall 11-09, 11-11 → sorted 11-09, 11-10 09h, 11-11
  assert.deepEqual(u5.map((i) => g.vocab.item[g.item[i]]), ['102', '100', '100']);
  assert.deepEqual(u5.map((i) => (g.geohash![i] < 0 ? '-' : g.vocab.geohash![g.geohash![i]])), ['-', 'abc', '-']);
  assert.deepEqual(u5.map((i) => (g.seller![i] < 0 ? '-' : g.vocab.seller![g.seller![i]])), ['45', '-', '44']);
  assert.deepEqual(u5.map((i) => (g.brand![i] < 0 ? '-' : g.vocab.brand![g.brand![i]])), ['-', '-', '3']);
  assert.equal(g.vocab.item.length, 3, "the same item id in both files is one item");
});

test('EventStoreBuilder grows geometrically from a tiny capacity without losing events', async () => {
  const b = new EventStoreBuilder(1);
  const evs = randomEvents(lcg(9), 5000);
  evs.forEach((e, i) => b.addEvent(e, `event ${i}`));
  const cols = b.columns();
  assert.equal(cols.n, 5000);
  assert.deepEqual(Array.from(cols.behavior), evs.map((e) => e.behavior));
  assert.deepEqual(groupsOf(b.finish()), naiveGroups(evs));
});

test('loadEvents interns ids in batches with first-seen order and the same normalization as IdInterner', async () => {
  const r = lcg(21);
  const f = join(dir, 'mixed.csv');
  const idOf = () => {
    const x = r(5);
    return x === 0 ? `u${r(300)}` : x === 1 ? String(3_000_000_000 + r(300)) : x === 2 ? `${r(300)}.0` : String(r(300));
  };
  const rows: string[][] = [];
  for (let i = 0; i < 70000; i++) rows.push([idOf(), idOf(), idOf()]);
  writeFileSync(f, 'user_id,item_id,behavior_type,user_geohash,item_category,time\n'
    + rows.map(([u, it, c]) => `${u},${it},1,,${c},2014-12-01 0${r(10)}`).join('\n') + '\n');
  const { events: g } = await loadEvents([f]);
  const norm = (s: string) => s.replace(/\.0$/, '');
  for (const [k, field] of (['user', 'item', 'category'] as const).entries()) {
    assert.deepEqual(g.vocab[field], [...new Set(rows.map((row) => norm(row[k])))], field);
  }
  const want = new Map<string, number>();
  for (const [u] of rows) want.set(norm(u), (want.get(norm(u)) ?? 0) + 1);
  for (let u = 0; u < g.vocab.user.length; u++) assert.equal(g.userStart[u + 1] - g.userStart[u], want.get(g.vocab.user[u]));
});
