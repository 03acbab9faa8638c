/**
 * `--transport mpi` end to end: real ranks under `mpirun` on this machine, each a `cmdcm train`
 * process. Skipped, with the reason, where mpirun is not installed or the addon was built without
 * MPI; CI (.ci/run) installs Open MPI so they run there.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { join } from 'node:path';
import { BIN, smallSetup } from '../cli/train-fixture.js';
import { readCheckpoint, readCheckpointFile, CKPT_LATEST } from '../../src/train/checkpoint.js';
import { SHARDS_DIR } from '../../src/train/checkpoint-shards.js';
import { Predictor } from '../../src/train/predictor.js';
import { openDataset } from '../../src/data/dataset.js';
import { readdirSync } from 'node:fs';
import { mpiBuilt } from '../../src/parallel/mpi/binding.js';
import { shardRows } from '../../src/parallel/mpi/shard.js';

function mpirunMissing(): string | false {
  const r = spawnSync('mpirun', ['--version'], { encoding: 'utf8' });
  if (r.error || r.status !== 0) return 'mpirun is not installed (Debian: apt-get install openmpi-bin libopenmpi-dev; CI installs it)';
  if (!mpiBuilt()) return 'cmdcm was built without its MPI addon (install libopenmpi-dev, then npx node-gyp rebuild)';
  return false;
}
const skip = mpirunMissing();

const BATCH = 64, STEPS = 6;
let setup: Awaited<ReturnType<typeof smallSetup>>;

interface Run {
  code: number | null;
  signal: string | null;
  out: string;
}

/** `cmdcm train` on `ranks` MPI ranks (0: a plain single process, no MPI). */
function train(ranks: number, out: string, extra: string[] = [], env: Record<string, string> = {}): Run {
  const args = [BIN, 'train', '--data', setup.data, '--model', 'cmdcm', '--out', out, '--config', setup.config, '--batch-size', String(BATCH), ...extra];
  const [cmd, argv] = ranks === 0
    ? [process.execPath, args]
    : ['mpirun', ['--allow-run-as-root', '--oversubscribe', '-np', String(ranks), process.execPath, ...args, '--transport', 'mpi']];
  const r = spawnSync(cmd, argv, {
    encoding: 'utf8', timeout: 180_000,
    env: { ...process.env, CMDCM_LOG_LEVEL: 'silent', CMDCM_NO_PROGRESS: '1', ...env },
  });
  return { code: r.status, signal: r.signal, out: `${r.stdout}\n${r.stderr}` };
}

function ok(r: Run, what: string): void {
  assert.equal(r.code, 0, `${what} exited ${r.code ?? r.signal}: ${r.out}`);
}

/** max |a - b| / max |b| */
function relDiff(a: Float32Array, b: Float32Array): number {
  assert.equal(a.length, b.length);
  let d = 0, m = 0;
  for (let i = 0; i < a.length; i++) {
    d = Math.max(d, Math.abs(a[i] - b[i]));
    m = Math.max(m, Math.abs(b[i]));
  }
  return m === 0 ? d : d / m;
}

const ARRAYS = ['params', 'm', 'v', 'table', 'tableM', 'tableV'] as const;
let single: string, twoRanks: Run;

before(async () => {
  if (skip) return;
  setup = await smallSetup();
  single = join(setup.dir, 'single');
  // validation every 3 steps: rank 0 gathers the table for it, and every rank adopts its verdict
  ok(train(0, single, ['--max-steps', String(STEPS), '--valid-every', '3']), 'single-process run');
  // info-level logs: each rank reports the table bytes it holds
  twoRanks = train(2, join(setup.dir, 'two'), ['--max-steps', String(STEPS), '--valid-every', '3'], { CMDCM_LOG_LEVEL: 'info' });
});

after(() => {
  if (setup) rmSync(setup.dir, { recursive: true, force: true });
});

test('2 MPI ranks × b follow 1 process × 2b: parameters, table and moments within 1e-5 after K steps', { skip }, async (t) => {
  ok(twoRanks, '2-rank run');
  const a = await readCheckpoint(join(setup.dir, 'two', CKPT_LATEST));
  const b = await readCheckpoint(join(single, CKPT_LATEST));
  assert.equal(a.state.step, STEPS);
  for (const k of ARRAYS) assert.ok(relDiff(a.state[k], b.state[k]) <= 1e-5, `${k}: ${relDiff(a.state[k], b.state[k])}`);
  t.diagnostic(`2 ranks vs 1 process after ${STEPS} steps, max rel. diff: ${ARRAYS.map((k) => `${k} ${relDiff(a.state[k], b.state[k]).toExponential(1)}`).join(', ')}`);
  // the checkpoint (assembled from the shards by readCheckpoint) is the whole table (rank 0 gathered it), nothing about ranks
  assert.equal(a.state.table.length, b.state.table.length);
  // validation ran on the gathered table: the same best step and logloss
  assert.equal(a.state.best?.step, b.state.best?.step);
  assert.ok(Math.abs(a.state.best!.metric - b.state.best!.metric) <= 1e-5, `${a.state.best?.metric} vs ${b.state.best?.metric}`);
  const bestA = await readCheckpoint(join(setup.dir, 'two', 'best.cmck')), bestB = await readCheckpoint(join(single, 'best.cmck'));
  assert.ok(relDiff(bestA.state.table, bestB.state.table) <= 1e-5);
  // and the last steps moved the parameters, so the comparison means something
  const earlier = await readCheckpoint(join(single, 'ckpt-prev.cmck'));
  assert.ok(relDiff(b.state.params, earlier.state.params) > 1e-4);
});

test('2 ranks checkpoint as a manifest plus one shard file per rank; the manifest holds no table values', { skip }, async () => {
  ok(twoRanks, '2-rank run');
  const m = await readCheckpointFile(join(setup.dir, 'two', CKPT_LATEST));
  assert.ok(m.shards, 'ckpt-latest.cmck is a sharded manifest');
  assert.equal(m.shards.ranks, 2);
  assert.deepEqual(m.shards.arrays, ['table', 'tableM', 'tableV']);
  assert.equal(m.state.table.length + m.state.tableM.length + m.state.tableV.length, 0);
  assert.deepEqual(readdirSync(join(setup.dir, 'two', m.shards.dir)).sort(), m.shards.files.map((f) => f.name));
  // only the shard directories of latest, prev and best are kept
  const best = await readCheckpointFile(join(setup.dir, 'two', 'best.cmck'));
  const prev = await readCheckpointFile(join(setup.dir, 'two', 'ckpt-prev.cmck'));
  assert.equal(best.shards?.arrays.join(), 'table');
  assert.deepEqual(readdirSync(join(setup.dir, 'two', SHARDS_DIR)).map((d) => `${SHARDS_DIR}/${d}`).sort(), [...new Set([m.shards.dir, prev.shards!.dir, best.shards!.dir])].sort());
});

test('sharded validation: each validation of 2 ranks logs the single process\'s loglosses (within 1e-6)', { skip }, async () => {
  ok(twoRanks, '2-rank run');
  const valids = (dir: string) => readFileSync(join(dir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { type: string; step: number; logloss: Record<string, number | null> }).filter((l) => l.type === 'valid');
  const a = valids(join(setup.dir, 'two')), b = valids(single);
  assert.deepEqual(a.map((l) => l.step), [3, 6]);
  assert.deepEqual(a.map((l) => l.step), b.map((l) => l.step));
  a.forEach((l, i) => {
    for (const k of Object.keys(b[i].logloss)) {
      const x = l.logloss[k], y = b[i].logloss[k];
      if (y === null) assert.equal(x, null);
      else assert.ok(Math.abs(x! - y) <= 1e-6 * Math.max(1, Math.abs(y)), `step ${l.step} ${k}: ${x} vs ${y}`);
    }
  });
});

test('eval/predict of a 2-rank run (the table assembled in one process) match the single process, calibration included', { skip }, async () => {
  ok(twoRanks, '2-rank run');
  const a = await Predictor.load(join(setup.dir, 'two')), b = await Predictor.load(single);
  // the ranks fit the delayed calibration together: the same fit as the single process's
  const ca = a.config.modelConfig.delayedCalibration, cb = b.config.modelConfig.delayedCalibration;
  assert.ok(cb, 'the single-process run fit a calibration');
  assert.ok(ca && Math.abs(ca.a - cb.a) <= 1e-4 && Math.abs(ca.b - cb.b) <= 1e-4, `${JSON.stringify(ca)} vs ${JSON.stringify(cb)}`);
  const test = await (await openDataset(setup.data)).load('test');
  assert.ok(test.n > 0);
  const pa = a.predict(test), pb = b.predict(test);
  for (const k of ['direct', 'atc', 'delayed'] as const) assert.ok(relDiff(pa[k], pb[k]) <= 1e-5, `${k}: ${relDiff(pa[k], pb[k])}`);
});

test('hybrid: 2 ranks × 2 threads × b/2 follow 1 process × 2b within 1e-5 after K steps, validation included', { skip }, async (t) => {
  const out = join(setup.dir, 'hybrid');
  const r = train(2, out, ['--max-steps', String(STEPS), '--valid-every', '3', '--workers', '2'], { CMDCM_LOG_LEVEL: 'info' });
  ok(r, '2 ranks × 2 threads');
  // each rank did start its thread workers (the thread transport's log line)
  assert.equal(r.out.split('\n').filter((l) => l.includes('"parallel workers ready"') && l.includes('"workers":2')).length, 2);
  const a = await readCheckpoint(join(out, CKPT_LATEST));
  const b = await readCheckpoint(join(single, CKPT_LATEST));
  assert.equal(a.state.step, STEPS);
  for (const k of ARRAYS) assert.ok(relDiff(a.state[k], b.state[k]) <= 1e-5, `${k}: ${relDiff(a.state[k], b.state[k])}`);
  t.diagnostic(`2 ranks × 2 threads vs 1 process after ${STEPS} steps, max rel. diff: ${ARRAYS.map((k) => `${k} ${relDiff(a.state[k], b.state[k]).toExponential(1)}`).join(', ')}`);
  assert.ok(Math.abs(a.state.best!.metric - b.state.best!.metric) <= 1e-5);
  const losses = (dir: string) => readFileSync(join(dir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { type: string; loss?: number }).filter((l) => l.type === 'step').map((l) => l.loss!);
  losses(out).forEach((x, i) => assert.ok(Math.abs(x - losses(single)[i]) <= 1e-5 * Math.abs(x), `step ${i + 1} loss ${x} vs ${losses(single)[i]}`));
});

test('a last batch smaller than ranks × threads: the ranks and threads without a sample take part, on the single process\'s trajectory', { skip }, async () => {
  // batch = train − 1: step 2 holds one sample, so one of 2 ranks × 2 threads has it and three have none
  const n = (JSON.parse(readFileSync(join(setup.data, 'meta.json'), 'utf8')) as { counts: { perSplit: { train: number } } }).counts.perSplit.train;
  const extra = ['--batch-size', String(n - 1), '--max-steps', '2'];
  const one = join(setup.dir, 'tail-single'), hybrid = join(setup.dir, 'tail-hybrid');
  ok(train(0, one, extra), 'single process');
  ok(train(2, hybrid, [...extra, '--workers', '2']), '2 ranks × 2 threads');
  const a = await readCheckpoint(join(hybrid, CKPT_LATEST)), b = await readCheckpoint(join(one, CKPT_LATEST));
  assert.equal(a.state.step, 2);
  for (const k of ARRAYS) assert.ok(relDiff(a.state[k], b.state[k]) <= 1e-5, `${k}: ${relDiff(a.state[k], b.state[k])}`);
});

test('with 2 ranks each rank holds half of the embedding table and its optimizer state', { skip }, async () => {
  ok(twoRanks, '2-rank run');
  const ready = twoRanks.out.split('\n').filter((l) => l.includes('"mpi rank ready"')).map((l) => JSON.parse(l) as { rank: number; tableRows: number; tableBytes: number });
  assert.deepEqual(ready.map((r) => r.rank).sort(), [0, 1]);
  const ck = await readCheckpoint(join(single, CKPT_LATEST));
  // lazy Adam: the table, m and v, each rows × dim float32
  const whole = ck.state.table.byteLength + ck.state.tableM.byteLength + ck.state.tableV.byteLength;
  const rows = ck.meta.tableRows, rowBytes = whole / rows;
  for (const r of ready) {
    assert.equal(r.tableRows, shardRows(rows, 2, r.rank));
    assert.equal(r.tableBytes, r.tableRows * rowBytes);
    assert.ok(Math.abs(2 * r.tableBytes - whole) <= rowBytes, `rank ${r.rank}: ${r.tableBytes} bytes of ${whole}`);
  }
  assert.equal(ready[0].tableBytes + ready[1].tableBytes, whole);
});

test('a killed rank ends the job, the launcher names it, and the last checkpoint stays intact', { skip }, async () => {
  const out = join(setup.dir, 'killed');
  const r = train(2, out, ['--max-steps', '8', '--checkpoint-every', '2'], { CMDCM_TEST_MPI_FAULT: '1:5:kill' });
  assert.equal(r.signal, null, 'mpirun hung until the test timeout');
  assert.notEqual(r.code, 0);
  assert.match(r.out, /rank 1\b/);
  const ck = await readCheckpoint(join(out, CKPT_LATEST));
  assert.equal(ck.state.step, 4);
});

test('a hung rank: the collective times out and rank 0 names the rank that does not answer', { skip }, async () => {
  const out = join(setup.dir, 'hung');
  const r = train(2, out, ['--max-steps', '8', '--checkpoint-every', '2'], { CMDCM_TEST_MPI_FAULT: '1:5:hang', CMDCM_MPI_TIMEOUT_S: '4' });
  assert.equal(r.signal, null, 'mpirun hung until the test timeout');
  assert.notEqual(r.code, 0);
  assert.match(r.out, /MPI rank 0: .* at step 5 timed out after 4 s; rank 1 did not answer/);
  const ck = await readCheckpoint(join(out, CKPT_LATEST));
  assert.equal(ck.state.step, 4);
});

/**
 * Waits until the process holding the run's lock (rank 0 of a failed job, which mpirun stops after
 * it has itself exited) is gone: a resume started before would find the run in use.
 */
async function lockReleased(out: string): Promise<void> {
  const lock = join(out, '.cmdcm.lock');
  if (!existsSync(lock)) return;
  const { pid } = JSON.parse(readFileSync(lock, 'utf8')) as { pid: number };
  for (let i = 0; i < 600; i++) {
    try {
      process.kill(pid, 0);
    } catch {
      return;
    }
    await sleep(50);
  }
  assert.fail(`pid ${pid} (rank 0 of the failed job) still holds ${lock} after 30 s`);
}

/** The run in `out` ended at STEPS on the single process's trajectory. */
async function sameAsSingle(out: string): Promise<void> {
  const a = await readCheckpoint(join(out, CKPT_LATEST));
  const b = await readCheckpoint(join(single, CKPT_LATEST));
  assert.equal(a.state.step, STEPS);
  assert.deepEqual(a.state.rng, b.state.rng);
  for (const k of ARRAYS) assert.ok(relDiff(a.state[k], b.state[k]) <= 1e-5, `${k}: ${relDiff(a.state[k], b.state[k])}`);
  const log = readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { type: string; step?: number });
  assert.deepEqual(log.filter((l) => l.type === 'step').map((l) => l.step), [1, 2, 3, 4, 5, 6]);
}

test('resume N → M re-shards: 2 ranks → one plain process, 1 process → 2 ranks, 2 ranks → 3 ranks, all on the same trajectory', { skip }, async () => {
  const cases: [number, number][] = [[2, 0], [0, 2], [2, 3]];
  for (const [n, m] of cases) {
    const out = join(setup.dir, `resume-${n}-${m}`);
    ok(train(n, out, ['--max-steps', '3', '--valid-every', '3']), `first half on ${n || 'one process'}`);
    // a plain process writes the one-file format, ranks a manifest
    assert.equal(Boolean((await readCheckpointFile(join(out, CKPT_LATEST))).shards), n > 0);
    ok(train(m, out, ['--max-steps', String(STEPS), '--valid-every', '3', '--resume']), `second half on ${m || 'one process'}`);
    assert.equal(Boolean((await readCheckpointFile(join(out, CKPT_LATEST))).shards), m > 0);
    await sameAsSingle(out);
    // once the checkpoints of the first half rotated out, their shard directories went too
    if (existsSync(join(out, SHARDS_DIR))) {
      const live = await Promise.all(['ckpt-latest.cmck', 'ckpt-prev.cmck', 'best.cmck'].map(async (f) => (await readCheckpointFile(join(out, f))).shards?.dir));
      assert.deepEqual(readdirSync(join(out, SHARDS_DIR)).map((d) => `${SHARDS_DIR}/${d}`).sort(), [...new Set(live.filter(Boolean))].sort());
    }
  }
});

test('hybrid resume: 2 ranks × 2 threads → 3 ranks × 2 threads, on the same trajectory', { skip }, async () => {
  const out = join(setup.dir, 'resume-hybrid');
  ok(train(2, out, ['--max-steps', '3', '--valid-every', '3', '--workers', '2']), 'first half on 2 ranks × 2 threads');
  ok(train(3, out, ['--max-steps', String(STEPS), '--valid-every', '3', '--workers', '2', '--resume']), 'second half on 3 ranks × 2 threads');
  await sameAsSingle(out);
});

test('a damaged shard of the latest checkpoint (read by rank 1 only): every rank falls back to prev together and the run resumes from it', { skip }, async () => {
  const out = join(setup.dir, 'damaged-shard');
  // checkpoints at step 2 (prev) and 3 (latest, the final one)
  ok(train(2, out, ['--max-steps', '3', '--checkpoint-every', '2', '--valid-every', '3']), 'first part');
  const m = await readCheckpointFile(join(out, CKPT_LATEST));
  assert.equal(m.state.step, 3);
  // rank 1 of 2 reads only rank 1's file: rank 0 sees nothing wrong, yet both must take prev
  const f = join(out, m.shards!.dir, m.shards!.files[1].name);
  const bytes = readFileSync(f);
  bytes[bytes.length - 1] ^= 0xff;
  writeFileSync(f, bytes);
  const r = train(2, out, ['--max-steps', String(STEPS), '--checkpoint-every', '2', '--valid-every', '3', '--resume'], { CMDCM_LOG_LEVEL: 'warn' });
  ok(r, 'resumed');
  assert.match(r.out, /MPI rank 1: .*rank-00001-of-00002\.cmsh: corrupted checkpoint shard \(CRC mismatch.*resuming from the previous checkpoint .*ckpt-prev\.cmck \(step 2\)/);
  assert.ok(existsSync(join(out, `${CKPT_LATEST}.corrupt`)));
  await sameAsSingle(out);
});

test('a rank killed while writing its checkpoint shard: the job ends naming it, the previous checkpoint stays readable and resumes', { skip }, async () => {
  const out = join(setup.dir, 'killed-in-checkpoint');
  const r = train(2, out, ['--max-steps', String(STEPS), '--checkpoint-every', '2', '--valid-every', '3'], { CMDCM_TEST_MPI_FAULT: '1:4:ckpt-kill' });
  assert.equal(r.signal, null, 'mpirun hung until the test timeout');
  assert.notEqual(r.code, 0);
  assert.match(r.out, /rank 1\b/);
  // the step-4 checkpoint never got its manifest: latest is still step 2's, whole and readable
  const ck = await readCheckpoint(join(out, CKPT_LATEST));
  assert.equal(ck.state.step, 2);
  await lockReleased(out);
  const dirs = readdirSync(join(out, SHARDS_DIR));
  assert.ok(dirs.some((d) => d.startsWith('train-s4-')), `the unfinished step-4 shard directory: ${dirs}`);
  ok(train(2, out, ['--max-steps', String(STEPS), '--checkpoint-every', '2', '--valid-every', '3', '--resume']), 'resumed');
  await sameAsSingle(out);
  // the unfinished directory went with the next checkpoint: only the manifests' directories are left
  const live = await Promise.all(['ckpt-latest.cmck', 'ckpt-prev.cmck', 'best.cmck'].map(async (f) => (await readCheckpointFile(join(out, f))).shards?.dir));
  assert.deepEqual(readdirSync(join(out, SHARDS_DIR)).map((d) => `${SHARDS_DIR}/${d}`).sort(), [...new Set(live.filter(Boolean))].sort());
});

test('a checkpoint of 2 ranks resumes on 1 rank on the same trajectory', { skip }, async () => {
  const out = join(setup.dir, 'resumed');
  ok(train(2, out, ['--max-steps', '3']), 'first half on 2 ranks');
  assert.equal((await readCheckpoint(join(out, CKPT_LATEST))).state.step, 3);
  ok(train(1, out, ['--max-steps', String(STEPS), '--resume']), 'second half on 1 rank');
  await sameAsSingle(out);
});

test('SIGUSR2 to mpirun stops every rank after the same step, with a final checkpoint to resume from', { skip }, async () => {
  const out = join(setup.dir, 'stopped');
  const args = [BIN, 'train', '--data', setup.data, '--model', 'cmdcm', '--out', out, '--config', setup.config, '--batch-size', String(BATCH),
    '--epochs', '200', '--checkpoint-every', '0', '--transport', 'mpi'];
  const p = spawn('mpirun', ['--allow-run-as-root', '--oversubscribe', '-np', '2', process.execPath, ...args], {
    env: { ...process.env, CMDCM_LOG_LEVEL: 'silent', CMDCM_NO_PROGRESS: '1' }, stdio: 'ignore',
  });
  const exited = new Promise<number | null>((resolve) => p.on('exit', (code) => resolve(code)));
  const steps = () => (existsSync(join(out, 'metrics.jsonl')) ? readFileSync(join(out, 'metrics.jsonl'), 'utf8').split('\n').filter((l) => l.includes('"type":"step"')).length : 0);
  // signal once training is under way (mpirun turns SIGINT into killing the job; it forwards SIGUSR2)
  for (let i = 0; i < 600 && steps() < 3; i++) await sleep(100);
  assert.ok(steps() >= 3, 'training did not start');
  p.kill('SIGUSR2');
  const code = await exited;
  // the lead's exit code 130 (interrupted), which mpirun passes on
  assert.equal(code, 130);
  const ck = await readCheckpoint(join(out, CKPT_LATEST));
  const done = steps();
  assert.equal(ck.state.step, done);
  // stopped, not finished: --resume continues it
  assert.equal(ck.state.finished, null);
  assert.ok(done >= 3);
});
