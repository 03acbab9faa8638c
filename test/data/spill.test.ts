import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, existsSync, writeFileSync, copyFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { spawnSync } from 'node:child_process';
import { killPrepareAt } from './killed-prepare.js';
import { fileURLToPath } from 'node:url';
import { prepare, type PrepareOptions } from '../../src/data/prepare.js';
import { openDataset } from '../../src/data/dataset.js';
import { generate } from '../../src/data/generate.js';
import { buildItemDayStats, itemCountsBefore, ItemStatsAccumulator } from '../../src/data/stats.js';
import { userRanges } from '../../src/data/spill.js';
import { Rng } from '../../src/data/generate.js';
import { CmdcmError } from '../../src/util/errors.js';
import type { GroupedEvents } from '../../src/data/types.js';

process.env.CMDCM_LOG_LEVEL = 'silent';
process.env.CMDCM_QUIET = '1';
const root = mkdtempSync(join(tmpdir(), 'cmdcm-spill-'));
after(() => rmSync(root, { recursive: true, force: true }));
const log = join(root, 'gen.csv');
const REAL = join(dirname(fileURLToPath(import.meta.url)), '../../../../shared/data/real');
// like the other real-data tests: skipped, not failed, without ../shared beside the checkout
const skipReal = existsSync(join(REAL, 'SOURCES.md')) ? false : `shared data not found at ${REAL}`;
let generated: Promise<{ rows: number }> | undefined;
const gen = () => (generated ??= generate({ out: log, seed: 11, users: 300, items: 300 }));

/** Every file of a dataset but meta.json's creation time, byte for byte. */
function snapshot(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const meta = JSON.parse(readFileSync(join(dir, 'meta.json'), 'utf8'));
  delete meta.createdAt;
  out.set('meta.json', JSON.stringify(meta));
  for (const sub of ['shards', 'vocab']) {
    for (const f of readdirSync(join(dir, sub)).sort()) out.set(`${sub}/${f}`, readFileSync(join(dir, sub, f)).toString('base64'));
  }
  return out;
}

function assertSameDataset(a: string, b: string): void {
  const sa = snapshot(a), sb = snapshot(b);
  assert.deepEqual([...sb.keys()], [...sa.keys()], 'same files');
  assert.equal(sb.get('meta.json'), sa.get('meta.json'), 'same meta.json (counts, per-promotion positives, shard list, schema)');
  for (const k of sa.keys()) assert.ok(sa.get(k) === sb.get(k), `${k} is byte-identical`);
}

const tempsIn = (dir: string) => readdirSync(dir).filter((f) => f.includes('.tmp-'));

/** The CLI in a child process (capturing process.stdout here would also swallow the test reporter's lines). */
function cli(argv: string[]): { status: number | null; stdout: string; stderr: string } {
  const bin = join(dirname(fileURLToPath(import.meta.url)), '../../../bin/cmdcm.js');
  return spawnSync(process.execPath, [bin, 'prepare', ...argv], { encoding: 'utf8', env: { ...process.env, CMDCM_LOG_LEVEL: 'silent' } });
}

test('out-of-core prepare (forced, several runs and user ranges) writes the same dataset as the in-memory one', async () => {
  const { rows } = await gen();
  const base: PrepareOptions = { logs: [log], promos: 'auto', out: '', progress: false, shardSize: 1500 };
  const mem = join(root, 'mem');
  await prepare({ ...base, out: mem, outOfCore: 'never' });
  const m = (await openDataset(mem)).meta;
  assert.ok(m.counts.samples > 5 * 1500, 'enough samples for several shards per promotion');

  for (const [name, tuning] of [['dense', {}], ['hashed item stats', { denseCells: 0 }]] as const) {
    const out = join(root, `spill-${name.replace(/ /g, '-')}`);
    const seen: { range: number; runs: number }[] = [];
    const runEvents = Math.ceil(rows / 5), rangeEvents = Math.ceil(rows / 3);
    await prepare({
      ...base, out, outOfCore: 'always', spillTuning: { runEvents, rangeEvents, ...tuning },
      afterSpillRange: ({ range, spillDir }) => { seen.push({ range, runs: readdirSync(spillDir).filter((f) => !f.endsWith('.idx')).length }); },
    });
    // the log really went through run files and was rebuilt range by range
    assert.ok(seen.length >= 3, `${name}: ${seen.length} user ranges`);
    assert.ok(seen.every((s) => s.runs >= 3), `${name}: runs on disk ${seen.map((s) => s.runs)}`);
    assertSameDataset(mem, out);
    assert.deepEqual(readdirSync(out).sort(), ['meta.json', 'shards', 'vocab'], 'no spill files in the dataset');
  }
  assert.deepEqual(tempsIn(root), [], 'no temp dirs left');
});

test('out-of-core prepare of a shuffled log in two files, auto mode: spills only past the budget and still matches', async () => {
  const { rows } = await gen();
  // the log shuffled (users' events out of time order, as in public logs) and split in two files:
  // users straddle the files
  const lines = readFileSync(log, 'utf8').trimEnd().split('\n');
  const rng = new Rng(7);
  for (let i = lines.length - 1; i > 1; i--) {
    const j = 1 + Math.floor(rng.next() * i);
    [lines[i], lines[j]] = [lines[j], lines[i]];
  }
  const a = join(root, 'part-a.csv'), b = join(root, 'part-b.csv');
  const cut = Math.floor(lines.length * 0.6);
  writeFileSync(a, lines.slice(0, cut).join('\n') + '\n');
  writeFileSync(b, [lines[0], ...lines.slice(cut)].join('\n') + '\n');
  copyFileSync(log + '.promos.json', a + '.promos.json');
  const base: PrepareOptions = { logs: [a, b], promos: 'auto', out: '', progress: false, shardSize: 4000 };
  const mem = join(root, 'two-mem');
  await prepare({ ...base, out: mem, outOfCore: 'never' });
  let ranges = 0;
  const counting = () => { ranges++; };
  // a budget the log fits: stays in memory
  await prepare({ ...base, out: join(root, 'two-auto-fits'), spillTuning: { runEvents: rows + 10 }, afterSpillRange: counting });
  assert.equal(ranges, 0, 'a log within the budget is prepared in memory');
  assertSameDataset(mem, join(root, 'two-auto-fits'));
  // a budget it outgrows: spills
  await prepare({ ...base, out: join(root, 'two-auto'), spillTuning: { runEvents: Math.ceil(rows / 4), rangeEvents: Math.ceil(rows / 2) }, afterSpillRange: counting });
  assert.ok(ranges >= 2, `spilled and rebuilt in ${ranges} ranges`);
  assertSameDataset(mem, join(root, 'two-auto'));
});

test('out-of-core prepare of a real Tmall log (seller/brand side fields, day resolution) matches the in-memory one', { skip: skipReal }, async () => {
  const file = join(REAL, 'tianchi_tmall_ijcai15_user_log_head_contig.csv');
  const base: PrepareOptions = { logs: [file], read: { year: 2015 }, promos: ['2015-06-18:7', '2015-11-11:10'], out: '', progress: false, shardSize: 500 };
  await prepare({ ...base, out: join(root, 'tmall-mem'), outOfCore: 'never' });
  const m = (await openDataset(join(root, 'tmall-mem'))).meta;
  assert.ok(m.schema.fields.includes('seller') && m.schema.fields.includes('brand'));
  await prepare({ ...base, out: join(root, 'tmall-spill'), outOfCore: 'always', spillTuning: { runEvents: 1500, rangeEvents: 2500 } });
  assertSameDataset(join(root, 'tmall-mem'), join(root, 'tmall-spill'));
});

test('a failing out-of-core pass 2 leaves no dataset and no temp files, and keeps an existing dataset', async () => {
  const { rows } = await gen();
  const out = join(root, 'spill-fail');
  const failing = (o: string): PrepareOptions => ({
    logs: [log], promos: 'auto', out: o, progress: false, outOfCore: 'always', spillTuning: { runEvents: Math.ceil(rows / 4), rangeEvents: Math.ceil(rows / 3) },
    afterSpillRange: ({ range, spillDir }) => {
      assert.ok(readdirSync(spillDir).length > 0);
      if (range === 1) throw new Error('disk full (simulated)');
    },
  });
  await assert.rejects(prepare(failing(out)), /simulated/);
  assert.ok(!existsSync(out));
  assert.deepEqual(tempsIn(root), []);
  await prepare({ logs: [log], promos: 'auto', out, progress: false });
  const before = readFileSync(join(out, 'meta.json'), 'utf8');
  await assert.rejects(prepare(failing(out)), /simulated/);
  assert.equal(readFileSync(join(out, 'meta.json'), 'utf8'), before, 'the previous dataset survives');
  assert.deepEqual(tempsIn(root), []);
});

test('an out-of-core prepare killed in pass 2 leaves only a hidden temp dir, swept by the next prepare', async () => {
  const { rows } = await gen();
  const out = join(root, 'spill-killed');
  await killPrepareAt('afterSpillRange', `{ logs: [${JSON.stringify(log)}], promos: 'auto', out: ${JSON.stringify(out)}, progress: false, outOfCore: 'always',
      spillTuning: { runEvents: ${Math.ceil(rows / 4)}, rangeEvents: ${Math.ceil(rows / 3)} } }`);
  assert.ok(!existsSync(out));
  const left = readdirSync(root).filter((f) => f.startsWith('.spill-killed.tmp-'));
  assert.equal(left.length, 1);
  assert.ok(!existsSync(join(root, left[0], 'meta.json')), 'the temp dir does not look like a dataset');
  assert.ok(readdirSync(join(root, left[0], 'spill')).length > 0, 'it holds the run files');
  await prepare({ logs: [log], promos: 'auto', out, progress: false });
  assert.deepEqual(readdirSync(root).filter((f) => f.startsWith('.spill-killed.tmp-')), []);
});

test('cmdcm prepare --out-of-core always --memory-budget: out of core from the CLI, same dataset; bad values name the flag', async () => {
  await gen();
  const mem = join(root, 'mem');
  if (!existsSync(mem)) await prepare({ logs: [log], promos: 'auto', out: mem, progress: false, shardSize: 1500, outOfCore: 'never' });
  const out = join(root, 'cli-spill');
  const r = cli(['--log', log, '--promo', 'auto', '--out', out, '--shard-size', '1500', '--out-of-core', 'always', '--memory-budget', '16']);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /out of core: 1 run files, 1 user ranges of <= \d+ events/);
  assertSameDataset(mem, out);
  for (const [flag, value] of [['out-of-core', 'sometimes'], ['memory-budget', '4']]) {
    const bad = cli(['--log', log, '--promo', 'auto', '--out', out, `--${flag}`, value]);
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, new RegExp(`^cmdcm prepare: --${flag}: `));
  }
  const isFlag = (flag: string) => (e: unknown) => e instanceof CmdcmError && e.message.startsWith(`--${flag}: `);
  await assert.rejects(prepare({ logs: [log], promos: 'auto', out, memoryBudgetMB: 0 }), isFlag('memory-budget'));
});

test('ItemStatsAccumulator fed in random batches equals buildItemDayStats on every pre-window day (grid and hash)', () => {
  const rng = new Rng(3);
  const nItems = 37, n = 4000, day0 = 16000;
  const item = new Int32Array(n), time = new Int32Array(n), behavior = new Uint8Array(n);
  for (let k = 0; k < n; k++) {
    item[k] = Math.floor(rng.next() * nItems);
    time[k] = (day0 + Math.floor(rng.next() * 40)) * 86400 + Math.floor(rng.next() * 86400);
    behavior[k] = Math.floor(rng.next() * 4);
  }
  const g = { n, item, time, behavior } as unknown as GroupedEvents;
  const promoDays = [day0 + 12];
  const queryDays = [...Array.from({ length: 5 }, (_, d) => day0 + 7 + d), ...Array.from({ length: 10 }, (_, d) => day0 + 25 + d)];
  const want = buildItemDayStats(g, nItems, promoDays);
  for (const denseCells of [1 << 20, 0, 100]) {
    const acc = new ItemStatsAccumulator(queryDays, promoDays, denseCells);
    for (let from = 0; from < n;) {
      const to = Math.min(n, from + 1 + Math.floor(rng.next() * 900));
      acc.add(item.subarray(from, to), time.subarray(from, to), behavior.subarray(from, to), to - from);
      from = to;
    }
    const got = acc.finish(nItems + 3);
    const a = new Int32Array(4), b = new Int32Array(4);
    for (let i = 0; i < nItems + 3; i++) {
      for (const d of queryDays) {
        if (i < nItems) itemCountsBefore(want, i, d, a); else a.fill(0);
        itemCountsBefore(got, i, d, b);
        assert.deepEqual(b, a, `item ${i} day ${d} denseCells ${denseCells}`);
      }
    }
  }
});

test('userRanges: consecutive ranges within the cap, a bigger user alone', () => {
  const counts = Int32Array.from([3, 4, 10, 1, 1, 1, 2, 0, 5]);
  const r = userRanges(counts, 5);
  assert.deepEqual(r, [[0, 1], [1, 2], [2, 3], [3, 8], [8, 9]]);
  for (const [a, b] of r) {
    let s = 0;
    for (let u = a; u < b; u++) s += counts[u];
    assert.ok(s <= 5 || b - a === 1);
  }
  assert.deepEqual(userRanges(new Int32Array(0), 5), []);
});
