/**
 * A table that only fits sharded: with N ranks each rank holds ~1/N of the embedding table and its
 * optimizer state in every phase (start, steps, validation, checkpoints, the calibration after
 * training), as each rank reports at its end (`mpi table memory`: the bytes of its own rows, and
 * the peak of every other table-derived buffer it held: compact batch tables, row exchanges,
 * checkpoint read chunks). Skipped where mpirun or the MPI addon is missing, as mpi.test.ts.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BIN, cmdcmIn, ok as cliOk } from '../cli/train-fixture.js';
import { prepare } from '../../src/data/prepare.js';
import { openDataset } from '../../src/data/dataset.js';
import { readCheckpoint, CKPT_LATEST } from '../../src/train/checkpoint.js';
import { mpiBuilt } from '../../src/parallel/mpi/binding.js';
import { shardRows } from '../../src/parallel/mpi/shard.js';
import type { PhaseMemory } from '../../src/parallel/mpi/runner.js';

const r = spawnSync('mpirun', ['--version'], { encoding: 'utf8' });
const skip = r.error || r.status !== 0 ? 'mpirun is not installed (Debian: apt-get install openmpi-bin libopenmpi-dev; CI installs it)'
  : !mpiBuilt() ? 'cmdcm was built without its MPI addon (install libopenmpi-dev, then npx node-gyp rebuild)' : false;

// 2^19 user and item buckets: a 1M-row table (dim 4: 16 MiB, 48 MiB with lazy Adam's moments),
// far more than any batch touches, so what a rank holds for it is visible
const BUCKETS = 1 << 19;
let dir: string, data: string, config: string;

before(async () => {
  if (skip) return;
  dir = mkdtempSync(join(tmpdir(), 'cmdcm-mpi-mem-'));
  cliOk(await cmdcmIn(['generate', '--out', join(dir, 'log.csv'), '--users', '60', '--items', '50', '--seed', '3']), 'generate');
  data = join(dir, 'ds');
  await prepare({ logs: [join(dir, 'log.csv')], promos: 'auto', out: data, seqLen: 5, hashSizes: { user: BUCKETS, item: BUCKETS }, progress: false });
  config = join(dir, 'small.json');
  writeFileSync(config, JSON.stringify({ model: { dim: 4, towerUnits: [8], attentionUnits: [4], gateUnits: 4, expertUnits: [8], experts: 2 }, train: { batchSize: 64, epochs: 1 } }));
});

after(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

interface Report {
  rank: number;
  ranks: number;
  tableRows: number;
  phases: Record<string, PhaseMemory>;
}

function run(ranks: number, out: string, extra: string[] = []): Report[] {
  const args = [BIN, 'train', '--data', data, '--model', 'cmdcm', '--out', out, '--config', config, '--max-steps', '4', '--valid-every', '2', '--checkpoint-every', '2', '--transport', 'mpi', ...extra];
  const p = spawnSync('mpirun', ['--allow-run-as-root', '--oversubscribe', '-np', String(ranks), process.execPath, ...args], {
    encoding: 'utf8', timeout: 300_000, env: { ...process.env, CMDCM_LOG_LEVEL: 'info', CMDCM_NO_PROGRESS: '1' },
  });
  const text = `${p.stdout}\n${p.stderr}`;
  assert.equal(p.status, 0, `${ranks} ranks exited ${p.status ?? p.signal}: ${text.slice(-3000)}`);
  return text.split('\n').filter((l) => l.includes('"mpi table memory"')).map((l) => JSON.parse(l) as Report).sort((a, b) => a.rank - b.rank);
}

const PHASES = ['start', 'train', 'validation', 'checkpoint', 'calibration'];

test('every phase: each of 2 ranks holds half the table of 1 rank (its own rows exactly, other table buffers < 3% of the table)', { skip }, async (t) => {
  const R = (await openDataset(data)).schema.tableRows;
  assert.ok(R > 2 * BUCKETS);
  const rowBytes = 4 * 4 * 3; // dim 4 float32: the row, lazy Adam's m and v
  const whole = R * rowBytes;
  const one = run(1, join(dir, 'one')), two = run(2, join(dir, 'two'));
  assert.deepEqual(one.map((x) => x.rank), [0]);
  assert.deepEqual(two.map((x) => x.rank), [0, 1]);
  const rows: string[] = [];
  for (const phase of PHASES) {
    const a = one[0].phases[phase];
    assert.ok(a, `1 rank reported no '${phase}' phase`);
    // the measurement is real: one rank holds the whole table in every phase
    assert.equal(a.ownedBytes, whole, `1 rank, ${phase}`);
    for (const x of two) {
      const b = x.phases[phase];
      assert.ok(b, `rank ${x.rank} of 2 reported no '${phase}' phase`);
      assert.equal(b.ownedRows, shardRows(R, 2, x.rank), `rank ${x.rank}, ${phase}: rows`);
      assert.equal(b.ownedBytes, shardRows(R, 2, x.rank) * rowBytes, `rank ${x.rank}, ${phase}: bytes`);
      // nothing table-sized besides: no gathered table, no whole checkpoint read, no full init
      assert.ok(b.workingBytes < 0.03 * whole, `rank ${x.rank}, ${phase}: ${b.workingBytes} working bytes of a ${whole}-byte table`);
      const held = (b.ownedBytes + b.workingBytes) / (a.ownedBytes + a.workingBytes);
      assert.ok(held > 0.45 && held < 0.55, `rank ${x.rank}, ${phase}: holds ${held} of what 1 rank holds`);
      rows.push(`${phase} rank ${x.rank}/2: owned ${b.ownedBytes} + working ${b.workingBytes} B (rss ${b.rssMiB} MiB) vs 1 rank ${a.ownedBytes} + ${a.workingBytes} B (rss ${a.rssMiB} MiB): ${held.toFixed(3)}`);
    }
  }
  for (const l of rows) t.diagnostic(l);
  // and the two runs trained the same model
  const ca = await readCheckpoint(join(dir, 'two', CKPT_LATEST)), cb = await readCheckpoint(join(dir, 'one', CKPT_LATEST));
  assert.equal(ca.state.step, 4);
  let d = 0;
  for (let i = 0; i < ca.state.params.length; i++) d = Math.max(d, Math.abs(ca.state.params[i] - cb.state.params[i]));
  assert.ok(d <= 1e-5, `params differ by ${d}`);
});

test('a 2-rank resume reads each rank\'s rows from the shard files: still half the table per rank at start', { skip }, async () => {
  const R = (await openDataset(data)).schema.tableRows;
  const whole = R * 4 * 4 * 3;
  const two = run(2, join(dir, 'two'), ['--max-steps', '6', '--resume']);
  for (const x of two) {
    const b = x.phases.start;
    assert.equal(b.ownedBytes, shardRows(R, 2, x.rank) * 48);
    // one read chunk (1 MiB) and the compact table at most
    assert.ok(b.workingBytes < 0.03 * whole, `rank ${x.rank}: ${b.workingBytes} working bytes at start`);
  }
  assert.equal((await readCheckpoint(join(dir, 'two', CKPT_LATEST))).state.step, 6);
});
