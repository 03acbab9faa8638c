import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, existsSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Trainer } from '../../src/train/trainer.js';
import { readCheckpoint, CKPT_LATEST } from '../../src/train/checkpoint.js';
import { createModel } from '../../src/parallel/testing-model.js';
import { CmdcmError } from '../../src/util/errors.js';
import { ParallelStepRunner } from '../../src/parallel/runner.js';
import { maxRelDiff, randomSamples, shmSkip, smallSchema, TESTING_MODEL, trainConfig } from './helpers.js';

const noShm = await shmSkip();
const CHILD = fileURLToPath(new URL('./fixtures/run-child.js', import.meta.url));
const schema = smallSchema();
const modelConfig = { dim: 8, hidden: 8 };
const model = createModel(modelConfig, schema);

/** The state after `steps` steps of the same run trained in this thread (the oracle). */
async function referenceAt(steps: number) {
  const cfg = trainConfig({ batchSize: 16, epochs: 50, maxSteps: steps, checkpointEvery: 0 });
  const s = await new Trainer({ model, schema, train: randomSamples(schema, 200, 3), config: cfg }).run();
  return s.state;
}

function shmOf(pid: number): string[] {
  return existsSync('/dev/shm') ? readdirSync('/dev/shm').filter((n) => n.startsWith(`cmdcm-${pid}-`)) : [];
}

function runChild(opts: object, onLine?: (obj: Record<string, unknown>, kill: (sig: NodeJS.Signals) => void) => void) {
  return new Promise<{ code: number | null; stderr: string; lines: Record<string, unknown>[]; pid: number }>((resolve) => {
    const child = spawn(process.execPath, [CHILD], { env: { ...process.env, CMDCM_LOG_LEVEL: 'silent', CMDCM_TEST_RUN: JSON.stringify(opts) }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '', err = '';
    const lines: Record<string, unknown>[] = [];
    child.stdout.on('data', (d) => {
      out += d;
      let i;
      while ((i = out.indexOf('\n')) >= 0) {
        const obj = JSON.parse(out.slice(0, i));
        out = out.slice(i + 1);
        lines.push(obj);
        onLine?.(obj, (sig) => child.kill(sig));
      }
    });
    child.stderr.on('data', (d) => (err += d));
    child.on('close', (code) => resolve({ code, stderr: err, lines, pid: child.pid! }));
  });
}

async function assertCheckpointAt(runDir: string, step: number) {
  const ck = await readCheckpoint(join(runDir, CKPT_LATEST));
  assert.equal(ck.state.step, step, 'the last checkpoint is the one written before the fault');
  const want = await referenceAt(step);
  for (const k of ['params', 'm', 'v', 'table', 'tableM', 'tableV'] as const) {
    assert.ok(maxRelDiff(ck.state[k], want[k]) <= 1e-5, `checkpoint ${k} matches the uninterrupted run at step ${step}`);
  }
}

for (const transport of ['thread', 'process'] as const) {
  test(`${transport} transport: SIGINT stops after the current step with a final checkpoint and no leftovers`, { skip: transport === 'process' && noShm }, async () => {
    const runDir = mkdtempSync(join(tmpdir(), 'cmdcm-par-sig-'));
    try {
      let sent = false;
      const r = await runChild({ runDir, workers: 2, transport, maxSteps: 1000, checkpointEvery: 0, stepDelayMs: 30 }, (l, kill) => {
        if (!sent && (l.step as number) >= 4) {
          sent = true;
          kill('SIGINT');
        }
      });
      assert.equal(r.code, 130, r.stderr);
      const end = r.lines.at(-1)!;
      assert.equal(end.end, 'interrupted');
      const steps = end.steps as number;
      assert.ok(steps >= 4 && steps < 1000);
      await assertCheckpointAt(runDir, steps);
      assert.deepEqual(shmOf(r.pid), []);
    } finally {
      rmSync(runDir, { recursive: true, force: true });
    }
  });
}

test('in-process: a failed step rejects every later step with the same error', async () => {
  const cfg = trainConfig({ batchSize: 16 });
  const runner = new ParallelStepRunner(model, { workers: 2, transport: 'thread', engine: 'cpu', model: { module: TESTING_MODEL, config: modelConfig }, schema, batchSize: 16, fault: { worker: 0, step: 2, kind: 'throw' } });
  const { initTrainState } = await import('../../src/train/state.js');
  const { stepHyper } = await import('../../src/train/step.js');
  const { gatherColumns } = await import('../../src/data/batch.js');
  const st = initTrainState(model, schema, cfg);
  const data = randomSamples(schema, 16, 5);
  const batch = gatherColumns(schema, data, Array.from({ length: 16 }, (_, i) => i));
  await runner.attach(st);
  await runner.step(st, batch, stepHyper(cfg, 0.01));
  const e1 = await runner.step(st, batch, stepHyper(cfg, 0.01)).catch((e) => e);
  assert.ok(e1 instanceof CmdcmError);
  assert.match(e1.message, /worker 0 failed at step 2: injected fault/);
  assert.equal(st.step, 1, 'the failed step is not counted');
  await assert.rejects(runner.step(st, batch, stepHyper(cfg, 0.01)), (e) => e === e1);
  await runner.close();
});

test('in-process: a non-finite gradient in one worker skips the update in every worker', async () => {
  const cfg = trainConfig({ batchSize: 16 });
  const runner = new ParallelStepRunner(model, { workers: 2, transport: 'thread', engine: 'cpu', model: { module: TESTING_MODEL, config: modelConfig }, schema, batchSize: 16 });
  const { initTrainState } = await import('../../src/train/state.js');
  const { stepHyper, NonFiniteLossError } = await import('../../src/train/step.js');
  const { gatherColumns } = await import('../../src/data/batch.js');
  const st = initTrainState(model, schema, cfg);
  const batch = gatherColumns(schema, randomSamples(schema, 16, 5), Array.from({ length: 16 }, (_, i) => i));
  await runner.attach(st);
  try {
    await runner.step(st, batch, stepHyper(cfg, 0.01));
    const before = { params: Float32Array.from(st.params), table: Float32Array.from(st.table), m: Float32Array.from(st.m) };
    // sample 12 lies in worker 1's half: only that worker sees the NaN
    batch.dense[12 * schema.dense.length] = NaN;
    const e = await runner.step(st, batch, stepHyper(cfg, 0.01)).catch((x) => x);
    assert.ok(e instanceof NonFiniteLossError, String(e));
    assert.equal(e.step, 2);
    assert.equal(st.step, 1);
    assert.deepEqual(st.params, before.params, 'worker 0 did not apply its slice either');
    assert.deepEqual(st.table, before.table);
    assert.deepEqual(st.m, before.m);
    // the runner stays usable: a clean batch steps normally
    batch.dense[12 * schema.dense.length] = 0;
    assert.equal((await runner.step(st, batch, stepHyper(cfg, 0.01))).step, 2);
  } finally {
    await runner.close();
  }
});
