import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, rmSync, mkdirSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readLog, type RowSink } from '../../src/data/readers/read.js';
import { readEvents } from '../../src/data/readers/log-events.js';
import { CsvSplitter } from '../../src/data/readers/csv.js';
import { parseColumnsSpec, parseBehaviorsSpec, type ReadOptions } from '../../src/data/readers/options.js';
import { readOptionsFromFlags } from '../../src/cli/flags/read.js';
import { CmdcmError } from '../../src/util/errors.js';
import type { LogEvent } from '../../src/data/types.js';

const dir = mkdtempSync(join(tmpdir(), 'cmdcm-readers-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let seq = 0;
function file(content: string | Buffer, name = `f${seq++}.csv`): string {
  const p = join(dir, name);
  writeFileSync(p, content);
  return p;
}

async function events(path: string, opts: ReadOptions = {}): Promise<{ evs: LogEvent[]; report: Awaited<ReturnType<typeof readLog>> }> {
  const evs: LogEvent[] = [];
  let report;
  for await (const e of readEvents(path, opts, (r) => { report = r; })) evs.push(e);
  return { evs, report: report! };
}

/** Oracle for wall-clock seconds: Date.UTC reads the calendar fields as if they were UTC. */
const wall = (y: number, mo: number, d: number, h = 0, mi = 0, s = 0) => Date.UTC(y, mo - 1, d, h, mi, s) / 1000;

const TIANCHI_HEAD = 'user_id,item_id,behavior_type,user_geohash,item_category,time\n';

test('tianchi2014: YYYY-MM-DD HH as wall clock, behaviors 1..4 → click, collect, cart, buy, geohash kept', async () => {
  const p = file(TIANCHI_HEAD + '10,20,1,,5,2014-12-06 02\n11,21,2,9r5g2k1,6,2014-11-18 00\n12,22,3,,7,2014-12-12 23\n13,23,4,,8,2016-02-29 12\n');
  const { evs, report } = await events(p);
  assert.equal(report.format, 'tianchi2014');
  assert.equal(report.resolution, 'hour');
  assert.deepEqual(evs.map((e) => e.time), [wall(2014, 12, 6, 2), wall(2014, 11, 18), wall(2014, 12, 12, 23), wall(2016, 2, 29, 12)]);
  assert.deepEqual(evs.map((e) => e.behavior), [0, 1, 2, 3]);
  assert.equal(evs[1].geohash, '9r5g2k1');
  assert.equal(evs[0].geohash, undefined);
  assert.deepEqual([evs[0].user, evs[0].item, evs[0].category], ['10', '20', '5']);
});

test('taobao2017: headerless, pv/fav/cart/buy, unix seconds + 8 h (Beijing wall clock)', async () => {
  // 1511544070 = 2017-11-24T17:21:10Z = 2017-11-25 01:21:10 in Beijing
  const p = file('1,2268318,2520377,pv,1511544070\n1,2333346,2520771,fav,1511561733\n2,3,4,cart,946684800\n2,3,4,buy,1512316799\n');
  const { evs, report } = await events(p);
  assert.equal(report.format, 'taobao2017');
  assert.equal(report.resolution, 'second');
  assert.equal(evs[0].time, wall(2017, 11, 25, 1, 21, 10));
  assert.equal(evs[2].time, wall(2000, 1, 1, 8));
  assert.equal(evs[3].time, 1512316799 + 28800);
  assert.deepEqual(evs.map((e) => e.behavior), [0, 1, 2, 3]);
});

test('tmall2015: mmdd with or without leading zero, year 2015 by default, --year overrides; codes 0=click 1=cart 2=buy 3=fav', async () => {
  const body = 'user_id,item_id,cat_id,seller_id,brand_id,time_stamp,action_type\r\n1,2,3,4,5.0,829,0\r\n1,2,3,4,,0511,1\r\n1,2,3,4,7,1111,2\r\n1,2,3,4,7,0229,3\r\n';
  const p = file(body);
  const { evs, report } = await events(p, { maxBadRows: 1 });
  assert.equal(report.format, 'tmall2015');
  assert.equal(report.resolution, 'day');
  // 2015 has no Feb 29: that row is a bad time
  assert.deepEqual(evs.map((e) => e.time), [wall(2015, 8, 29), wall(2015, 5, 11), wall(2015, 11, 11)]);
  assert.deepEqual(evs.map((e) => e.behavior), [0, 2, 3]);
  assert.equal(report.bad.time, 1);
  assert.equal(evs[0].brand, '5.0', 'readEvents keeps the raw id string');
  assert.equal(evs[1].brand, undefined, 'an empty brand is a missing side field, not a bad row');
  assert.equal(evs[0].seller, '4');
  const r16 = await events(p, { year: 2016 });
  assert.deepEqual(r16.evs.map((e) => e.time), [wall(2016, 8, 29), wall(2016, 5, 11), wall(2016, 11, 11), wall(2016, 2, 29)]);
});

test('a pandas index column is detected from the header and from headerless shape', async () => {
  const withHeader = file(',user_id,item_id,cat_id,seller_id,brand_id,time_stamp,action_type\n0,1,2,3,4,5,1111,2\n1,1,2,3,4,5,1110,0\n');
  const a = await events(withHeader);
  assert.match(a.report.describe, /index column/);
  assert.deepEqual(a.evs.map((e) => [e.user, e.time, e.behavior]), [['1', wall(2015, 11, 11), 3], ['1', wall(2015, 11, 10), 0]]);
  const unnamed = file('Unnamed: 0,user_id,item_id,behavior_type,user_geohash,item_category,time\n5,7,8,4,,9,2014-12-12 10\n');
  const b = await events(unnamed);
  assert.equal(b.report.format, 'tianchi2014');
  assert.deepEqual(b.evs.map((e) => [e.user, e.item, e.category, e.behavior]), [['7', '8', '9', 3]]);
});

test('explicit --format resolves the layout; headerless tianchi / tmall rows are detected by shape', async () => {
  const t = file('7,8,1,,9,2014-12-12 10\n7,8,4,,9,2014-12-12 11\n');
  assert.equal((await events(t)).report.format, 'tianchi2014');
  assert.equal((await events(t, { format: 'tianchi2014' })).evs.length, 2);
  const m = file('1,2,3,4,5,1111,2\n');
  assert.equal((await events(m)).report.format, 'tmall2015');
});

test('generic: datetime / unix / mmdd time columns, header by names, --behaviors codes, utc offset', async () => {
  const p = file('ts,who,what,kind,cat\n2020-01-02 03:04:05,u1,i1,view,c1\n2020-01-02 03:04:06,u1,i2,order,c2\n2020-01-02 03:04:07,u2,i2,oops,c2\n');
  const opts = readOptionsFromFlags({ columns: 'user=who,item=what,category=cat,behavior=kind,time=ts', behaviors: 'view=click,order=buy' });
  const { evs, report } = await events(p, { ...opts, maxBadRows: 1 });
  assert.equal(report.format, 'generic');
  assert.equal(report.resolution, 'second');
  assert.deepEqual(evs.map((e) => [e.user, e.item, e.category, e.behavior, e.time]), [
    ['u1', 'i1', 'c1', 0, wall(2020, 1, 2, 3, 4, 5)], ['u1', 'i2', 'c2', 3, wall(2020, 1, 2, 3, 4, 6)]]);
  assert.equal(report.bad.behavior, 1);
  assert.match(report.examples[0], /:4: unknown behavior code \('oops'\)/);

  const u = file('a,b,c,1,1700000000\na,b,c,2,1700003600\n');
  const uo = readOptionsFromFlags({ columns: 'user=0,item=1,category=2,behavior=3,time=4', behaviors: '1=click,2=cart', 'time-format': 'unix', 'utc-offset': '-5' });
  const ur = await events(u, uo);
  assert.deepEqual(ur.evs.map((e) => e.time), [1700000000 - 5 * 3600, 1700003600 - 5 * 3600]);
  assert.deepEqual(ur.evs.map((e) => e.behavior), [0, 2]);

  const md = file('x,y,z,3,25,buy\n');
  const mo = readOptionsFromFlags({ columns: 'user=0,item=1,category=2,month=3,day=4,behavior=5', behaviors: 'buy=buy', year: '2019' });
  assert.deepEqual((await events(md, mo)).evs.map((e) => e.time), [wall(2019, 3, 25)]);
});

test('bad rows: counted per reason, first ones reported as file:line, skipped', async () => {
  const lines = [TIANCHI_HEAD.trim()];
  const good = 200;
  for (let i = 0; i < good; i++) lines.push(`${i},${i},1,,3,2014-12-01 0${i % 10}`);
  lines.splice(3, 0, '1,2,3');                     // line 4: wrong column count
  lines.splice(6, 0, '1,2,9,,3,2014-12-01 01');    // line 7: unknown behavior
  lines.splice(9, 0, '1,2,1,,3,2014-13-01 01');    // line 10: month 13
  lines.splice(12, 0, ',2,1,,3,2014-12-01 01');    // line 13: empty user
  lines.splice(15, 0, '1,2,1,,3,2014-12-01 1');    // line 16: hour with one digit
  const p = file(lines.join('\n') + '\n');
  const { evs, report } = await events(p, { maxBadRows: 10 });
  assert.equal(evs.length, good);
  assert.equal(report.rows, good);
  assert.equal(report.badRows, 5);
  assert.deepEqual(report.bad, { columns: 1, behavior: 1, time: 2, id: 1 });
  assert.deepEqual(report.examples.map((e) => e.slice(e.lastIndexOf('/') + 1).replace(/ \(.*$/, '')), [
    `${p.split('/').pop()}:4: wrong column count`, `${p.split('/').pop()}:7: unknown behavior code`,
    `${p.split('/').pop()}:10: unparsable time`, `${p.split('/').pop()}:13: empty id`, `${p.split('/').pop()}:16: unparsable time`]);
  // the count limit aborts with a clear message
  await assert.rejects(readLog(p, { maxBadRows: 4 }, { row() {} }), (e: unknown) => {
    assert.ok(e instanceof CmdcmError);
    assert.match(e.message, /5 bad rows of .* exceed --max-bad-rows 4/);
    assert.match(e.message, /:4: wrong column count/);
    return true;
  });
  // a fraction: 5 / 205 = 2.4 %
  await assert.rejects(readLog(p, { maxBadRows: 0.02 }, { row() {} }), /exceed --max-bad-rows 0\.02 \(2% of rows\)/);
  assert.equal((await readLog(p, { maxBadRows: 0.03 }, { row() {} })).badRows, 5);
  await assert.rejects(readLog(p, { maxBadRows: 0 }, { row() {} }), /exceed --max-bad-rows 0/);
});

test('.gz files are read transparently (detected by magic bytes), with the same rows', async () => {
  const lines = [TIANCHI_HEAD.trim()];
  for (let i = 0; i < 5000; i++) lines.push(`${i % 97},${i},${1 + (i % 4)},,${i % 13},2014-12-${String(1 + (i % 28)).padStart(2, '0')} ${String(i % 24).padStart(2, '0')}`);
  const text = lines.join('\r\n') + '\r\n';
  const plain = file(text);
  const gz = file(gzipSync(Buffer.from(text)), 'log.csv.gz');
  const a = await events(plain), b = await events(gz);
  assert.equal(b.report.gzip, true);
  assert.equal(b.evs.length, 5000);
  assert.deepEqual(b.evs, a.evs);
  const corrupt = file(Buffer.concat([gzipSync(Buffer.from(text)).subarray(0, 200), Buffer.alloc(50, 7)]), 'bad.csv.gz');
  await assert.rejects(readLog(corrupt, {}, { row() {} }), CmdcmError);
});

test('missing, empty, blank, header-only files and directories are one-line CmdcmErrors', async () => {
  const cases: [string, RegExp][] = [
    [join(dir, 'nope.csv'), /nope\.csv: no such file/],
    [file(''), /file is empty/],
    [file('\n\r\n\n'), /no data lines/],
    [file(TIANCHI_HEAD), /no data rows \(only a header\)/],
    [file('hello world\nthis is not a log\n'), /unrecognized log format/],
  ];
  const d = join(dir, 'adir');
  mkdirSync(d);
  cases.push([d, /is a directory/]);
  for (const [p, re] of cases) {
    await assert.rejects(readLog(p, {}, { row() {} }), (e: unknown) => {
      assert.ok(e instanceof CmdcmError, String(e));
      assert.match(e.message, re);
      assert.ok(!e.message.includes('\n'), e.message);
      return true;
    });
  }
});

test('flag parsing: errors name the flag; --columns implies generic; generic needs both mappings', () => {
  assert.throws(() => readOptionsFromFlags({ format: 'csv' }), /--format: unknown format 'csv'/);
  assert.throws(() => readOptionsFromFlags({ year: '15' }), /--year/);
  assert.throws(() => readOptionsFromFlags({ 'max-bad-rows': 'lots' }), /--max-bad-rows/);
  assert.throws(() => readOptionsFromFlags({ 'max-bad-rows': '2.5' }), /--max-bad-rows: a count must be an integer/);
  assert.throws(() => readOptionsFromFlags({ columns: 'user=0,item=1,category=2,behavior=3,time=4' }), /--behaviors/);
  assert.throws(() => readOptionsFromFlags({ format: 'generic', behaviors: '1=click' }), /--columns/);
  assert.throws(() => parseColumnsSpec('user=0,item=1,category=2,behavior=3'), /time=COL/);
  assert.throws(() => parseColumnsSpec('user=0,item=1,category=2,behavior=3,time=4,day=5'), /either/);
  assert.throws(() => parseColumnsSpec('user=0,item=1,category=2,behavior=3,time=4,price=5'), /unknown role 'price'/);
  assert.throws(() => parseBehaviorsSpec('1=like'), /unknown behavior 'like'/);
  assert.deepEqual(parseBehaviorsSpec('0=click,1=cart,2=buy,3=favourite'), { 0: 0, 1: 2, 2: 3, 3: 1 });
  const o = readOptionsFromFlags({ columns: 'user=0,item=1,category=2,behavior=3,month=4,day=5', behaviors: '1=click', 'max-bad-rows': '0.01' });
  assert.equal(o.format, 'generic');
  assert.equal(o.maxBadRows, 0.01);
  assert.deepEqual(o.columns, { user: 0, item: 1, category: 2, behavior: 3, month: 4, day: 5 });
});

test('generic column index beyond the file is a clear error', async () => {
  const p = file('1,2,3,1,2020-01-01\n');
  const opts = readOptionsFromFlags({ columns: 'user=0,item=1,category=2,behavior=3,time=9', behaviors: '1=click' });
  await assert.rejects(readLog(p, opts, { row() {} }), /time=9: the file has only 5 columns/);
});

test('CsvSplitter: any chunking gives the same rows as splitting the whole text (CRLF, blank lines, no final newline)', () => {
  let s = 42;
  const rnd = (n: number) => { s = (s * 1103515245 + 12345) >>> 0; return s % n; };
  for (let trial = 0; trial < 50; trial++) {
    const lines: string[] = [];
    const nl = 1 + rnd(40);
    for (let i = 0; i < nl; i++) {
      const nf = 1 + rnd(5);
      lines.push(Array.from({ length: nf }, () => 'x'.repeat(rnd(4)) + rnd(100)).join(','));
      if (rnd(7) === 0) lines.push('');
    }
    const eol = rnd(2) ? '\r\n' : '\n';
    const text = lines.join(eol) + (rnd(2) ? eol : '');
    const want = text.split(/\r?\n/).map((l, i) => [i + 1, l] as const).filter(([, l]) => l !== '').map(([i, l]) => `${i}:${l.split(',').join('|')}`);
    const got: string[] = [];
    const sp: CsvSplitter = new CsvSplitter((buf, nf, line) => {
      const f: string[] = [];
      for (let k = 0; k < nf; k++) f.push(buf.toString('utf8', sp.start[k], sp.end[k]));
      got.push(`${line}:${f.join('|')}`);
    });
    const bytes = Buffer.from(text);
    for (let i = 0; i < bytes.length;) {
      const n = 1 + rnd(12);
      sp.push(Buffer.from(bytes.subarray(i, i + n)));
      i += n;
    }
    sp.flush();
    assert.deepEqual(got, want, JSON.stringify(text));
  }
});

test('a RowSink sees byte ranges of the raw ids (no normalization at this level)', async () => {
  const p = file(',user_id,item_id,cat_id,seller_id,brand_id,time_stamp,action_type\n0,007,2661.0,3,4,,1111,2\n');
  const seen: string[] = [];
  const sink: RowSink = {
    row(buf, ids) {
      for (let r = 0; r < 6; r++) seen.push(ids[2 * r] < 0 ? '-' : buf.toString('utf8', ids[2 * r], ids[2 * r + 1]));
    },
  };
  await readLog(p, {}, sink);
  assert.deepEqual(seen, ['007', '2661.0', '3', '4', '', '-']);
});
