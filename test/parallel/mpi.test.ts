/**
 * `--transport mpi` end to end: real ranks under `mpirun` on this machine, each a `cmdcm train`
 * process. Skipped, with the reason, where mpirun is not installed or the addon was built without
 * MPI; CI (.ci/run) installs Open MPI so they run there.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { join } from 'node:path';
import { BIN, smallSetup } from '../cli/train-fixture.js';
import { readCheckpoint, CKPT_LATEST } from '../../src/train/checkpoint.js';
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

test('2 MPI ranks × b follow 1 process × 2b: parameters, table and moments within 1e-5 after K steps', { skip }, async () => {
  ok(twoRanks, '2-rank run');
  const a = await readCheckpoint(join(setup.dir, 'two', CKPT_LATEST));
  const b = await readCheckpoint(join(single, CKPT_LATEST));
  assert.equal(a.state.step, STEPS);
  for (const k of ARRAYS) assert.ok(relDiff(a.state[k], b.state[k]) <= 1e-5, `${k}: ${relDiff(a.state[k], b.state[k])}`);
  // the checkpoint is the whole table (rank 0 gathered it), nothing about ranks
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

test('a checkpoint of 2 ranks resumes on 1 rank on the same trajectory', { skip }, async () => {
  const out = join(setup.dir, 'resumed');
  ok(train(2, out, ['--max-steps', '3']), 'first half on 2 ranks');
  assert.equal((await readCheckpoint(join(out, CKPT_LATEST))).state.step, 3);
  ok(train(1, out, ['--max-steps', String(STEPS), '--resume']), 'second half on 1 rank');
  const a = await readCheckpoint(join(out, CKPT_LATEST));
  const b = await readCheckpoint(join(single, CKPT_LATEST));
  assert.equal(a.state.step, STEPS);
  assert.deepEqual(a.state.rng, b.state.rng);
  for (const k of ARRAYS) assert.ok(relDiff(a.state[k], b.state[k]) <= 1e-5, `${k}: ${relDiff(a.state[k], b.state[k])}`);
  const log = readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { type: string; step?: number });
  assert.deepEqual(log.filter((l) => l.type === 'step').map((l) => l.step), [1, 2, 3, 4, 5, 6]);
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
