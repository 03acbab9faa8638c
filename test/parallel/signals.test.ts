import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CmdcmError } from '../../src/util/errors.js';
import { ParallelStepRunner } from '../../src/parallel/runner.js';
import { randomSamples, shmSkip, TESTING_MODEL, trainConfig } from './helpers.js';
import { assertCheckpointAt, model, modelConfig, runChild, schema, shmOf } from './child-run.js';

const noShm = await shmSkip();

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
  const runner = new ParallelStepRunner(model, { workers: 2, transport: 'thread', engine: 'cpu', model: { module: TESTING_MODEL, config: modelConfig }, schema, batchSize: 16, tableOptimizer: cfg.tableOptimizer, fault: { worker: 0, step: 2, kind: 'throw' } });
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
  const runner = new ParallelStepRunner(model, { workers: 2, transport: 'thread', engine: 'cpu', model: { module: TESTING_MODEL, config: modelConfig }, schema, batchSize: 16, tableOptimizer: cfg.tableOptimizer });
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
