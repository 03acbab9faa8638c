import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, writeFileSync, readFileSync, readdirSync, existsSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { killPrepareAt } from './killed-prepare.js';
import { fileURLToPath } from 'node:url';
import { prepare } from '../../src/data/prepare.js';
import { openDataset } from '../../src/data/dataset.js';
import { generate } from '../../src/data/generate.js';
import { run as runPrepare } from '../../src/cli/commands/prepare.js';
import { CmdcmError } from '../../src/util/errors.js';
import { datasetWarnings } from '../../src/data/warnings.js';

process.env.CMDCM_LOG_LEVEL = 'silent';
process.env.CMDCM_QUIET = '1';
const root = mkdtempSync(join(tmpdir(), 'cmdcm-prep-'));
after(() => rmSync(root, { recursive: true, force: true }));
const log = join(root, 'gen.csv'), truth = join(root, 'gen.truth.csv');
const REAL = join(dirname(fileURLToPath(import.meta.url)), '../../../../shared/data/real');
// like the other real-data tests: skipped, not failed, without ../shared beside the checkout
const skipReal = existsSync(join(REAL, 'SOURCES.md')) ? false : `shared data not found at ${REAL}`;
let generated: Promise<unknown> | undefined;
const gen = () => (generated ??= generate({ out: log, truth, seed: 5, users: 400, items: 400 }));

/** stdout of the CLI command, captured */
async function cli(argv: string[]): Promise<string> {
  const write = process.stdout.write;
  let out = '';
  process.stdout.write = ((s: string) => { out += s; return true; }) as typeof process.stdout.write;
  try { await runPrepare(argv); } finally { process.stdout.write = write; }
  return out;
}

test('cmdcm prepare on a generated log: target labels equal the generator\'s brute-force ground truth', async () => {
  await gen();
  const out = join(root, 'ds');
  const text = await cli(['--log', log, '--promo', 'auto', '--out', out, '--shard-size', '5000']);
  assert.match(text, /^wrote .*ds: \d+ samples from \d+ events/);
  const ds = await openDataset(out);
  const m = ds.meta;
  assert.deepEqual(m.promotions.map((p) => `${p.date}:${p.preDays}`), ['2014-11-11:10', '2014-12-12:10']);
  assert.equal(m.target, 1);
  assert.equal(m.targetOutcomeKnown, true);
  assert.equal(m.resolution, 'hour');
  assert.equal(m.timeFormat, 'tianchi2014');
  assert.equal(m.sources[0].format, 'tianchi2014');
  assert.equal(m.counts.events, readFileSync(log, 'utf8').trimEnd().split('\n').length - 1);
  assert.equal(m.counts.perSplit.train + m.counts.perSplit.valid + m.counts.perSplit.test, m.counts.samples);
  // default as-of: the target day minus 3 days
  assert.equal(m.asOfText, '2014-12-09 00:00');
  assert.equal(m.shards.reduce((s, x) => s + x.n, 0), m.counts.samples);
  assert.ok(m.shards.length >= 4, 'shard size honored');
  assert.deepEqual(m.schema.fields, ['user', 'item', 'category', 'geohash', 'dtp', 'hour']);

  const test_ = await ds.load('test');
  const { users, items } = await ds.vocab();
  const fmt = (t: number) => { const d = new Date(t * 1000).toISOString(); return `${d.slice(0, 10)} ${d.slice(11, 13)}`; };
  const mine = new Map<string, number>();
  for (let k = 0; k < test_.n; k++) {
    const key = `${users[test_.user[k]]},${items[test_.item[k]]},${fmt(test_.time[k])},${test_.labels[3 * k]},${test_.labels[3 * k + 1]},${test_.labels[3 * k + 2]}`;
    mine.set(key, (mine.get(key) ?? 0) + 1);
  }
  // the test split is the target's clicks at or after asOf, every one of them
  const rows = readFileSync(truth, 'utf8').trimEnd().split('\n').slice(1).filter((r) => r.split(',')[2] >= '2014-12-09 00');
  assert.ok(rows.length > 1000);
  assert.equal(rows.length, test_.n);
  const theirs = new Map<string, number>();
  for (const r of rows) {
    const f = r.split(',');
    const key = [...f.slice(0, 3), ...f.slice(7)].join(',');
    theirs.set(key, (theirs.get(key) ?? 0) + 1);
  }
  assert.deepEqual([...mine.entries()].sort(), [...theirs.entries()].sort());
  const positives = m.perPromotion![1].positives;
  assert.ok(positives.delayed > 0 && positives.atc > positives.delayed / 2 && positives.direct > 0);
});

test('prepare is atomic: a failure leaves no dataset, and keeps an existing one intact', async () => {
  await gen();
  const out = join(root, 'atomic');
  const boom = () => { throw new Error('disk full (simulated)'); };
  await assert.rejects(prepare({ logs: [log], promos: 'auto', out, progress: false, beforeCommit: boom }), /simulated/);
  assert.ok(!existsSync(out), 'no directory at --out after a failed first prepare');
  assert.deepEqual(readdirSync(root).filter((f) => f.includes('.tmp-')), [], 'temp dir cleaned up');
  await prepare({ logs: [log], promos: 'auto', out, progress: false });
  const before = readFileSync(join(out, 'meta.json'), 'utf8');
  await assert.rejects(prepare({ logs: [log], promos: ['2014-11-11:10', '2014-12-12:10'], seqLen: 7, out, progress: false, beforeCommit: boom }), /simulated/);
  assert.equal(readFileSync(join(out, 'meta.json'), 'utf8'), before, 'the previous dataset survives');
  await openDataset(out);
});

test('an interrupted prepare (killed mid-write) never leaves a dataset that looks complete', async () => {
  await gen();
  const out = join(root, 'killed');
  await killPrepareAt('beforeCommit', `{ logs: [${JSON.stringify(log)}], promos: 'auto', out: ${JSON.stringify(out)}, progress: false }`);
  assert.ok(!existsSync(out));
  await assert.rejects(openDataset(out), /dataset directory not found/);
  // the next prepare sweeps the dead process's temp dir
  assert.equal(readdirSync(root).filter((f) => f.startsWith('.killed.tmp-')).length, 1);
  await prepare({ logs: [log], promos: 'auto', out, progress: false });
  assert.deepEqual(readdirSync(root).filter((f) => f.startsWith('.killed.tmp-')), []);
  await openDataset(out);
});

test('prepare refuses a non-dataset directory at --out, and bad flags, naming them', async () => {
  await gen();
  const foreign = join(root, 'home');
  mkdirSync(foreign);
  writeFileSync(join(foreign, 'notes.txt'), 'precious');
  await assert.rejects(prepare({ logs: [log], promos: 'auto', out: foreign, progress: false }), /--out: .*home is a non-empty directory that is not a cmdcm dataset/);
  assert.equal(readFileSync(join(foreign, 'notes.txt'), 'utf8'), 'precious');
  const out = join(root, 'flags');
  const isFlag = (flag: string, re: RegExp) => (e: unknown) => e instanceof CmdcmError && e.message.startsWith(`--${flag}: `) && re.test(e.message);
  await assert.rejects(cli(['--log', log, '--out', out]), isFlag('promo', /required/));
  await assert.rejects(cli(['--log', join(root, 'nosidecar.csv'), '--promo', 'auto', '--out', out]), isFlag('promo', /nosidecar\.csv\.promos\.json: not found/));
  await assert.rejects(cli(['--log', log, '--promo', '2014-12-12:10', '--promo', '2014-12-05:3', '--out', out]), isFlag('promo', /overlap/));
  await assert.rejects(cli(['--log', log, '--promo', 'auto', '--valid-days', '10', '--out', out]), isFlag('valid-days', /whole 10-day pre-window/));
  await assert.rejects(cli(['--log', log, '--promo', 'auto', '--seq-len', '0', '--out', out]), isFlag('seq-len', />= 1/));
  assert.ok(!existsSync(out));
});

test('prepare reads real public logs: Tianchi 2014 (hour) and Tmall IJCAI-15 (day resolution)', { skip: skipReal }, async () => {
  const t = join(root, 'real-tianchi');
  const a = await prepare({ logs: [join(REAL, 'tianchi_mobile2014_user_head2k.csv')], promos: ['2014-12-12:10'], out: t, progress: false });
  assert.equal(a.meta.counts.events, 1999);
  assert.equal(a.meta.counts.perSplit.valid, 0, 'no historical promotion, no validation split');
  const ds = await openDataset(t);
  const test_ = await ds.load('test');
  assert.equal(test_.n, a.meta.counts.perSplit.test);
  assert.equal(a.meta.counts.perSplit.train + test_.n, a.meta.counts.samples, 'the target before asOf trains, the rest tests');
  assert.ok(test_.n > 0 && a.meta.counts.perSplit.train > 0);
  // the same log with Double 11 named too (it starts a week after it): the same test clicks, and a warning
  const t2 = join(root, 'real-tianchi-1111');
  const a2 = await prepare({ logs: [join(REAL, 'tianchi_mobile2014_user_head2k.csv')], promos: ['2014-11-11:10', '2014-12-12:10'], out: t2, progress: false });
  assert.deepEqual(a2.meta.counts.perSplit, a.meta.counts.perSplit);
  assert.equal(a2.meta.perPromotion?.[0].samples, 0);
  assert.ok(datasetWarnings(a2.meta).some((w) => /historical promotion 2014-11-11:10 has no samples/.test(w)), datasetWarnings(a2.meta).join('\n'));
  const m = join(root, 'real-tmall');
  const b = await prepare({ logs: [join(REAL, 'tianchi_tmall_ijcai15_user_log_head_contig.csv')], read: { year: 2015 }, promos: ['2015-06-18:7', '2015-11-11:10'], out: m, progress: false });
  assert.equal(b.meta.resolution, 'day');
  assert.ok(!b.meta.schema.fields.includes('hour'), 'no hour field at day resolution');
  assert.ok(b.meta.schema.fields.includes('seller') && b.meta.schema.fields.includes('brand'));
  const dsm = await openDataset(m);
  const tr = await dsm.load('train');
  assert.equal(tr.n, b.meta.counts.perSplit.train);
  // day resolution: a sequence never holds an event of the click's own day
  const tm = await dsm.load('test');
  for (let k = 0; k < tm.n; k++) assert.ok(tm.seqLen[k] <= dsm.schema.seqLen);
});

test('a parallel build (2 threads) gives the same samples as one thread', async () => {
  await gen();
  const one = join(root, 'threads1'), two = join(root, 'threads2');
  const a = await prepare({ logs: [log], promos: 'auto', out: one, progress: false, threads: 1, shardSize: 3000 });
  const b = await prepare({ logs: [log], promos: 'auto', out: two, progress: false, threads: 2, shardSize: 3000 });
  assert.deepEqual(b.meta.counts, a.meta.counts);
  assert.deepEqual(b.meta.perPromotion, a.meta.perPromotion);
  assert.ok(b.meta.shards.some((s) => s.file.includes('-w1-')), 'the worker wrote shards');
  const [da, db] = [await openDataset(one), await openDataset(two)];
  for (const split of ['train', 'valid', 'test'] as const) {
    const [x, y] = [await da.load(split), await db.load(split)];
    const rows = (c: typeof x) => {
      const F = c.fields.length / Math.max(c.n, 1), S = c.dense.length / Math.max(c.n, 1), W = c.seq.length / Math.max(c.n, 1);
      const out: string[] = [];
      for (let k = 0; k < c.n; k++) {
        out.push(JSON.stringify([c.user[k], c.item[k], c.time[k], c.promo[k], Array.from(c.labels.subarray(3 * k, 3 * k + 3)), Array.from(c.mask.subarray(3 * k, 3 * k + 3)),
          Array.from(c.fields.subarray(F * k, F * k + F)), Array.from(c.dense.subarray(S * k, S * k + S)), Array.from(c.seq.subarray(W * k, W * k + W)), c.seqLen[k]]));
      }
      return out.sort();
    };
    assert.deepEqual(rows(y), rows(x), split);
  }
});

test('prepare reports progress per stage and stops on its signal, leaving nothing behind', async () => {
  await gen();
  const seen = new Set<string>();
  const ok = join(root, 'progress');
  const lines: string[] = [];
  const logger = { info: (_o: unknown, m?: string) => { lines.push(m ?? String(_o)); }, warn: (_o: unknown, m?: string) => { lines.push(m ?? String(_o)); } };
  await prepare({ logs: [log], promos: 'auto', out: ok, progress: false, logger: logger as never, onProgress: (p) => { seen.add(p.stage); assert.ok(p.done >= 0); } });
  assert.deepEqual([...seen].sort(), ['build', 'read']);
  assert.ok(lines.includes('read log') && lines.includes('prepared dataset'), 'the host logger got prepare\'s lines');
  const ac = new AbortController();
  const out = join(root, 'aborted');
  await assert.rejects(prepare({ logs: [log], promos: 'auto', out, progress: false, signal: ac.signal, onProgress: (p) => { if (p.stage === 'read') ac.abort(); } }),
    (e: Error) => e instanceof CmdcmError && /prepare: aborted (while reading the log|after reading the log)/.test(e.message));
  assert.ok(!existsSync(out), 'no dataset at --out');
  assert.deepEqual(readdirSync(root).filter((f) => f.startsWith('.aborted')), [], 'no temp or lock left');
});
