import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

/** `cmdcm inspect` run as a user runs it: the real bin, stdout/stderr and exit code. */
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const BIN = join(ROOT, 'bin', 'cmdcm.js');
const REAL = join(ROOT, '..', 'shared', 'data', 'real');
const skipReal = existsSync(join(REAL, 'SOURCES.md')) ? false : `shared data not found at ${REAL}`;
if (skipReal) console.log(`# skipping real-data inspect tests: ${skipReal}`);

const dir = mkdtempSync(join(tmpdir(), 'cmdcm-inspect-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function cmdcm(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((res) => {
    execFile(process.execPath, [BIN, ...args], { env: { ...process.env, CMDCM_LOG_LEVEL: 'silent' }, maxBuffer: 1 << 26 }, (err, stdout, stderr) => {
      res({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
  });
}

test('inspect a real Tmall log: counts from SOURCES.md, date range, the Double 11 buy spike in the chart', { skip: skipReal }, async () => {
  const r = await cmdcm('inspect', join(REAL, 'tianchi_tmall_ijcai15_user_log_head_contig.csv'));
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /tmall2015 \(leading index column\), 9,465 rows, 0 bad/);
  assert.match(r.stdout, /^users +61$/m);
  assert.match(r.stdout, /^items +5,628$/m);
  assert.match(r.stdout, /^behaviors +click 8,298, collect 519, cart 0, buy 648$/m);
  assert.match(r.stdout, /^date range +2015-05-11 \.\. 2015-11-11 \(185 days\)$/m);
  const day = (d: string) => r.stdout.split('\n').find((l) => l.trimStart().startsWith(d))!;
  // the buy bar of 11-11 is the full width (the busiest buy day), and it is annotated
  assert.match(day('2015-11-11'), /#{20} +\d[\d,]* +<- Double 11$/);
  const buysOn1111 = Number(day('2015-11-11').replace(/ +<- Double 11$/, '').trim().split(/ +/).pop()!.replace(/,/g, ''));
  const buysOn1001 = Number(day('2015-10-01').trim().split(/ +/).pop()!.replace(/,/g, ''));
  assert.ok(buysOn1111 > 5 * Math.max(1, buysOn1001), `${buysOn1111} vs ${buysOn1001}`);
});

test('inspect --json: machine-readable summary with per-day counts', { skip: skipReal }, async () => {
  const r = await cmdcm('inspect', '--json', join(REAL, 'tianchi_mobile2014_user_head2k.csv'));
  assert.equal(r.code, 0, r.stderr);
  const s = JSON.parse(r.stdout);
  assert.equal(s.format, 'tianchi2014');
  assert.equal(s.rows, 1999);
  assert.equal(s.users, 34);
  assert.equal(s.items, 1689);
  assert.deepEqual(s.perBehavior, { click: 1876, collect: 18, cart: 70, buy: 35 });
  const d1212 = s.days.find((d: { date: string }) => d.date === '2014-12-12');
  assert.equal(d1212.counts.reduce((a: number, b: number) => a + b, 0), 142);
  assert.equal(d1212.counts[3], 9);
  assert.equal(s.days.reduce((a: number, d: { counts: number[] }) => a + d.counts[0], 0), 1876);
});

test('inspect refuses the near-miss file on one line (exit 1), and reads it with --columns/--behaviors', { skip: skipReal }, async () => {
  const f = join(REAL, 'other', 'tianchi_tmall_ijcai15_dblab_user_log_1111only_contig.csv');
  const bad = await cmdcm('inspect', f);
  assert.equal(bad.code, 1);
  assert.equal(bad.stdout, '');
  assert.equal(bad.stderr.trim().split('\n').length, 1, bad.stderr);
  assert.match(bad.stderr, /^cmdcm inspect: .*unrecognized log format.*--columns/);
  const ok = await cmdcm('inspect', f, '--columns', 'user=0,item=1,category=2,seller=3,brand=4,month=5,day=6,behavior=7',
    '--behaviors', '0=click,1=cart,2=buy,3=collect', '--json');
  assert.equal(ok.code, 0, ok.stderr);
  const s = JSON.parse(ok.stdout);
  assert.equal(s.rows, 9956);
  assert.equal(s.users, 357);
  assert.deepEqual(s.perBehavior, { click: 8604, collect: 101, cart: 6, buy: 1245 });
  assert.equal(s.first, '2015-11-11');
  assert.equal(s.last, '2015-11-11');
});

test('inspect reports bad rows with file:line and aborts past --max-bad-rows', async () => {
  const f = join(dir, 'bad.csv.gz');
  const rows = ['user_id,item_id,behavior_type,user_geohash,item_category,time'];
  for (let i = 0; i < 50; i++) rows.push(`${i % 5},${i},1,,3,2014-12-0${1 + (i % 9)} 10`);
  rows.push('1,2,7,,3,2014-12-01 10');
  writeFileSync(f, gzipSync(rows.join('\n')));
  const r = await cmdcm('inspect', f);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /tianchi2014, gzip, 50 rows, 1 bad/);
  assert.match(r.stdout, /bad\.csv\.gz:52: unknown behavior code \('7'\)/);
  const a = await cmdcm('inspect', f, '--max-bad-rows', '0');
  assert.equal(a.code, 1);
  assert.match(a.stderr, /^cmdcm inspect: .*bad\.csv\.gz: 1 bad rows of 51 read .* exceed --max-bad-rows 0/);
  const flag = await cmdcm('inspect', f, '--max-bad-rows', 'x');
  assert.equal(flag.code, 2);
  assert.match(flag.stderr, /--max-bad-rows: expected a count/);
});

test('inspect a dataset directory prints its meta.json summary; a directory without one is a clear error', async () => {
  const ds = join(dir, 'ds');
  mkdirSync(ds);
  const meta = {
    formatVersion: 1, createdAt: '2026-01-01T00:00:00Z',
    sources: [{ file: 'log.csv', format: 'tianchi2014', rows: 1234, badRows: 2 }],
    resolution: 'hour',
    promotions: [{ date: '2014-11-11', day: 16385, preDays: 10 }, { date: '2014-12-12', day: 16416, preDays: 10 }],
    target: 1, targetOutcomeKnown: true, validDays: 2,
    schema: { fields: ['user', 'item', 'category'], seqLen: 50, seqTokens: ['item', 'category', 'behavior', 'gap'], dense: ['a', 'b'],
      hash: [{ name: 'user', offset: 1, size: 1000 }, { name: 'item', offset: 1001, size: 5000 }], tableRows: 6001 },
    counts: { events: 1234, users: 56, items: 789, samples: 900, perSplit: { train: 600, valid: 100, test: 200 }, perBehavior: { click: 1100, cart: 50 } },
    timeFormat: 'tianchi2014', badRows: { columns: 2 }, shards: [{ file: 's0.bin', n: 900, promo: 0 }],
  };
  writeFileSync(join(ds, 'meta.json'), JSON.stringify(meta));
  const r = await cmdcm('inspect', ds);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /log\.csv: tianchi2014, 1,234 rows, 2 bad/);
  assert.match(r.stdout, /2014-11-11, pre-window 10 days +historical/);
  assert.match(r.stdout, /2014-12-12, pre-window 10 days +target \(outcome in log\)/);
  assert.match(r.stdout, /samples per split: train 600, valid 100, test 200/);
  assert.match(r.stdout, /sequence length 50/);
  const j = await cmdcm('inspect', ds, '--json');
  assert.deepEqual(JSON.parse(j.stdout), meta);

  const empty = join(dir, 'empty');
  mkdirSync(empty);
  const e = await cmdcm('inspect', empty);
  assert.equal(e.code, 1);
  assert.match(e.stderr, /^cmdcm inspect: .*empty: no meta\.json, so not a prepared dataset/);
  const missing = await cmdcm('inspect', join(dir, 'missing.csv'));
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /missing\.csv: no such file/);
  writeFileSync(join(ds, 'meta.json'), '{ "formatVersion": ');
  const broken = await cmdcm('inspect', ds);
  assert.equal(broken.code, 1);
  assert.match(broken.stderr, /meta\.json: not valid JSON/);
});
