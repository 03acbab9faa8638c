import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadEvents } from '../../src/data/events.js';
import { readOptionsFromFlags } from '../../src/cli/flags/read.js';
import { CmdcmError } from '../../src/util/errors.js';
import { BEHAVIORS, SECONDS_PER_DAY, type GroupedEvents } from '../../src/data/types.js';
import { daysFromCivil } from '../../src/data/readers/bytes.js';

/**
 * Acceptance: the real public logs in ../shared/data/real load by auto-detection with exactly the
 * statistics that its SOURCES.md states (numbers copied from there by hand: an independent oracle).
 */
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const REAL = join(ROOT, '..', 'shared', 'data', 'real');
const skip = existsSync(join(REAL, 'SOURCES.md')) ? false : `shared data not found at ${REAL} (expects shared/ beside the repository)`;
if (skip) console.log(`# skipping real-data tests: ${skip}`);

interface Expect {
  file: string;
  format: string;
  rows: number;
  users: number;
  items: number;
  categories?: number;
  sellers?: number;
  /** click, collect, cart, buy */
  behaviors: [number, number, number, number];
  /** local days (ISO) with their row counts, from SOURCES.md */
  dayRows?: Record<string, number>;
  daysWithData?: number;
}

// SOURCES.md names Tmall's "favourite" and Taobao's "fav" collect: all go to BEHAVIORS[1].
const FILES: Expect[] = [
  { file: 'tianchi_tmall_ijcai15_user_log_head_contig.csv', format: 'tmall2015', rows: 9465, users: 61, items: 5628, sellers: 1430,
    behaviors: [8298, 519, 0, 648], dayRows: { '2015-11-11': 1859, '2015-11-10': 560, '2015-06-18': 56 }, daysWithData: 183 },
  { file: 'tianchi_tmall_ijcai15_user_log_random3k.csv', format: 'tmall2015', rows: 3000, users: 2971, items: 2878,
    behaviors: [2643, 172, 2, 183], dayRows: { '2015-11-11': 610 }, daysWithData: 185 },
  { file: 'tianchi_mobile2014_user_head2k.csv', format: 'tianchi2014', rows: 1999, users: 34, items: 1689, categories: 464,
    behaviors: [1876, 18, 70, 35], dayRows: { '2014-12-12': 142 } },
  { file: 'tianchi_taobao_userbehavior2017_head_contig.csv', format: 'taobao2017', rows: 84287, users: 814, items: 55233, categories: 2911,
    behaviors: [75693, 2351, 4494, 1749] },
  { file: 'tianchi_taobao_userbehavior2017_tail_contig.csv', format: 'taobao2017', rows: 9938, users: 113, items: 7572, categories: 1095,
    behaviors: [8988, 212, 532, 206] },
];

function dayOf(iso: string): number {
  const [y, m, d] = iso.split('-').map(Number);
  return daysFromCivil(y, m, d);
}

function behaviorCounts(g: GroupedEvents): number[] {
  const c = [0, 0, 0, 0];
  for (let i = 0; i < g.n; i++) c[g.behavior[i]]++;
  return c;
}

function rowsOnDay(g: GroupedEvents, iso: string, behavior?: number): number {
  const d = dayOf(iso);
  let k = 0;
  for (let i = 0; i < g.n; i++) if (Math.floor(g.time[i] / SECONDS_PER_DAY) === d && (behavior === undefined || g.behavior[i] === behavior)) k++;
  return k;
}

for (const e of FILES) {
  test(`real log ${e.file}: auto-detected as ${e.format}, counts equal SOURCES.md`, { skip }, async () => {
    const { events: g, reports } = await loadEvents([join(REAL, e.file)]);
    assert.equal(reports[0].format, e.format);
    assert.equal(reports[0].badRows, 0, JSON.stringify(reports[0].examples));
    assert.equal(reports[0].rows, e.rows);
    assert.equal(g.n, e.rows);
    assert.equal(g.vocab.user.length, e.users);
    assert.equal(g.userStart.length, e.users + 1);
    assert.equal(g.vocab.item.length, e.items);
    if (e.categories !== undefined) assert.equal(g.vocab.category.length, e.categories);
    if (e.sellers !== undefined) assert.equal(g.vocab.seller?.length, e.sellers);
    assert.deepEqual(behaviorCounts(g), e.behaviors, `per behavior (${BEHAVIORS.join(', ')})`);
    for (const [day, rows] of Object.entries(e.dayRows ?? {})) assert.equal(rowsOnDay(g, day), rows, `rows on ${day}`);
    if (e.daysWithData !== undefined) assert.equal(new Set(Array.from(g.time, (t) => Math.floor(t / SECONDS_PER_DAY))).size, e.daysWithData);
  });
}

test('real Tianchi 2014: 9 buys on Double 12, hour resolution, first row at 2014-12-06 02h', { skip }, async () => {
  const { events: g } = await loadEvents([join(REAL, 'tianchi_mobile2014_user_head2k.csv')]);
  assert.equal(g.resolution, 'hour');
  assert.equal(rowsOnDay(g, '2014-12-12', 3), 9);
  // first line: 98047837,232431562,1,,4245,2014-12-06 02 — user 0 is its user; its geohash is empty
  assert.equal(g.vocab.user[0], '98047837');
  const t = (dayOf('2014-12-06') * 24 + 2) * 3600;
  let found = false;
  for (let i = g.userStart[0]; i < g.userStart[1]; i++) if (g.vocab.item[g.item[i]] === '232431562' && g.time[i] === t) found = true;
  assert.ok(found);
  assert.ok(g.geohash, 'tianchi carries the geohash column');
});

test('real Taobao 2017: unix seconds shifted to Beijing days (35 / 4 dirty rows before 2017-11-25)', { skip }, async () => {
  // SOURCES.md: the span is 2017-11-25 .. 2017-12-03 *in Beijing time*, with 35 (head) and 4 (tail)
  // out-of-window rows. Without the +8 h shift, rows of the early Beijing morning of 11-25 fall on
  // 11-24 and these counts break.
  const start = dayOf('2017-11-25'), end = dayOf('2017-12-03');
  for (const [file, dirty] of [['tianchi_taobao_userbehavior2017_head_contig.csv', 35], ['tianchi_taobao_userbehavior2017_tail_contig.csv', 4]] as const) {
    const { events: g } = await loadEvents([join(REAL, file)]);
    assert.equal(g.resolution, 'second');
    let before = 0, after = 0;
    for (let i = 0; i < g.n; i++) {
      const d = Math.floor(g.time[i] / SECONDS_PER_DAY);
      if (d < start) before++;
      if (d > end) after++;
    }
    assert.equal(before, dirty, file);
    assert.equal(after, 0, file);
  }
});

test('real Taobao head + tail concatenate: user sets are disjoint', { skip }, async () => {
  const { events: g, reports } = await loadEvents([
    join(REAL, 'tianchi_taobao_userbehavior2017_head_contig.csv'), join(REAL, 'tianchi_taobao_userbehavior2017_tail_contig.csv')]);
  assert.equal(reports.length, 2);
  assert.equal(g.n, 84287 + 9938);
  assert.equal(g.vocab.user.length, 814 + 113);
});

test('real Tmall head: pandas quirks (index column, 2661.0 brands, mmdd 829, one empty brand) read as 2015 days', { skip }, async () => {
  const { events: g, reports } = await loadEvents([join(REAL, 'tianchi_tmall_ijcai15_user_log_head_contig.csv')]);
  assert.match(reports[0].describe, /index column/);
  assert.equal(g.resolution, 'day');
  // first row: 0,328862,323294,833,2882,2661.0,829,0 → 2015-08-29, click, brand '2661'
  assert.equal(g.vocab.user[0], '328862');
  const want = dayOf('2015-08-29') * SECONDS_PER_DAY;
  let i0 = -1;
  for (let i = g.userStart[0]; i < g.userStart[1]; i++) if (g.vocab.item[g.item[i]] === '323294' && g.time[i] === want) i0 = i;
  assert.ok(i0 >= 0, 'first row found at 2015-08-29');
  assert.equal(g.vocab.brand![g.brand![i0]], '2661');
  let emptyBrand = 0;
  for (let i = 0; i < g.n; i++) if (g.brand![i] === -1) emptyBrand++;
  assert.equal(emptyBrand, 1);
  assert.ok(!g.vocab.brand!.some((b) => b.includes('.')), 'float brand ids normalized to integers');
  // --year moves every date
  const { events: g16 } = await loadEvents([join(REAL, 'tianchi_tmall_ijcai15_user_log_head_contig.csv')], { year: 2016 });
  assert.equal(rowsOnDay(g16, '2016-11-11'), 1859);
});

test('real: the Tianchi item table is refused by auto-detection with a clear message', { skip }, async () => {
  await assert.rejects(loadEvents([join(REAL, 'tianchi_mobile2014_item_sample2k.csv')]), (e: unknown) => {
    assert.ok(e instanceof CmdcmError);
    assert.match(e.message, /tianchi_mobile2014_item_sample2k\.csv: .*item table.*not a behavior log/);
    assert.ok(!e.message.includes('\n'));
    return true;
  });
});

const OTHER = join(REAL, 'other', 'tianchi_tmall_ijcai15_dblab_user_log_1111only_contig.csv');

test('real other/: the 11-column near-miss is refused by auto-detection, suggesting --columns/--behaviors', { skip }, async () => {
  await assert.rejects(loadEvents([OTHER]), (e: unknown) => {
    assert.ok(e instanceof CmdcmError);
    assert.match(e.message, /unrecognized log format: no header, 11 columns/);
    assert.match(e.message, /--columns/);
    assert.match(e.message, /--behaviors/);
    assert.ok(!e.message.includes('\n'));
    return true;
  });
  // forcing a known format does not silently misread it either: every row is bad, so it aborts
  await assert.rejects(loadEvents([OTHER], { format: 'tmall2015' }), /bad rows of .* exceed --max-bad-rows/);
});

test('real other/: an explicit column mapping reads it with the SOURCES.md counts', { skip }, async () => {
  const opts = readOptionsFromFlags({
    columns: 'user=0,item=1,category=2,seller=3,brand=4,month=5,day=6,behavior=7',
    behaviors: '0=click,1=cart,2=buy,3=collect',
  });
  assert.equal(opts.format, 'generic');
  const { events: g, reports } = await loadEvents([OTHER], opts);
  assert.equal(reports[0].badRows, 0);
  assert.equal(g.n, 9956);
  assert.equal(g.vocab.user.length, 357);
  assert.equal(g.vocab.item.length, 4836);
  assert.deepEqual(behaviorCounts(g), [8604, 101, 6, 1245]);
  assert.equal(rowsOnDay(g, '2015-11-11'), 9956);
  assert.equal(g.resolution, 'day');
  // SOURCES.md: its first 61 users are the head file's users, and their 11-11 rows match exactly
  const { events: h } = await loadEvents([join(REAL, 'tianchi_tmall_ijcai15_user_log_head_contig.csv')]);
  const key = (x: GroupedEvents, i: number) => `${x.vocab.user[x.user[i]]},${x.vocab.item[x.item[i]]},${x.behavior[i]}`;
  const d = dayOf('2015-11-11');
  const headRows: string[] = [], otherRows: string[] = [];
  const headUsers = new Set(h.vocab.user);
  for (let i = 0; i < h.n; i++) if (Math.floor(h.time[i] / SECONDS_PER_DAY) === d) headRows.push(key(h, i));
  for (let i = 0; i < g.n; i++) if (headUsers.has(g.vocab.user[g.user[i]])) otherRows.push(key(g, i));
  assert.deepEqual(otherRows.sort(), headRows.sort());
});
