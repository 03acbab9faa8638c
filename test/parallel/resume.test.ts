import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Trainer } from '../../src/train/trainer.js';
import { readCheckpoint, CKPT_LATEST } from '../../src/train/checkpoint.js';
import type { StepRunner } from '../../src/train/step.js';
import { createModel } from './testing-model.js';
import { ParallelStepRunner } from '../../src/parallel/runner.js';
import type { Transport } from '../../src/parallel/gpus.js';
import { maxRelDiff, randomSamples, shmSkip, smallSchema, TESTING_MODEL, trainConfig } from './helpers.js';

const schema = smallSchema();
const modelConfig = { dim: 8, hidden: 8 };
const model = createModel(modelConfig, schema);
const train = randomSamples(schema, 200, 9);
// 200 samples / 16 = 13 steps per epoch: the resumed half crosses an epoch boundary (new permutation)
const noShm = await shmSkip();
const HALF = 9, FULL = 18;
const cfgAt = (maxSteps: number) => trainConfig({ batchSize: 16, epochs: 10, maxSteps, checkpointEvery: 0 });

function runner(workers: number, transport: Transport): StepRunner | undefined {
  if (workers === 0) return undefined; // the single-process trainer's own in-thread step
  return new ParallelStepRunner(model, { workers, transport, engine: 'cpu', model: { module: TESTING_MODEL, config: modelConfig }, schema, batchSize: 16, tableOptimizer: cfgAt(0).tableOptimizer });
}

async function run(runDir: string | undefined, maxSteps: number, workers: number, transport: Transport, resume = false) {
  return new Trainer({ model, schema, train, config: cfgAt(maxSteps), runDir, resume, runner: runner(workers, transport) }).run();
}

/** workers 0 = in-thread trainer */
for (const [first, second, transport] of [[2, 1, 'thread'], [1, 2, 'process'], [0, 2, 'thread'], [2, 0, 'process']] as const) {
  test(`checkpoint written with ${first || 'no'} worker(s) resumes with ${second || 'no'} worker(s) (${transport} transport) on the same trajectory`, { skip: transport === 'process' && noShm }, async () => {
    const want = (await run(undefined, FULL, 0, transport)).state;
    const dir = mkdtempSync(join(tmpdir(), 'cmdcm-par-resume-'));
    try {
      const a = await run(dir, HALF, first, transport);
      assert.equal(a.steps, HALF);
      const ck = await readCheckpoint(join(dir, CKPT_LATEST));
      assert.equal(ck.state.step, HALF);
      // the checkpoint holds plain arrays of the model's sizes, nothing about workers
      assert.equal(ck.state.params.length, model.layout.total);
      assert.equal(ck.state.table.length, schema.tableRows * model.dim);
      const b = await run(dir, FULL, second, transport, true);
      assert.equal(b.resumedFrom, HALF);
      assert.equal(b.steps, FULL);
      assert.equal(b.state.epoch, want.epoch);
      assert.equal(b.state.cursor, want.cursor);
      assert.deepEqual(b.state.rng, want.rng);
      for (const k of ['params', 'm', 'v', 'table', 'tableM', 'tableV'] as const) {
        const d = maxRelDiff(b.state[k], want[k]);
        assert.ok(d <= 1e-5, `${k}: ${d}`);
      }
      // and the run really moved between the halves
      assert.ok(maxRelDiff(ck.state.params, want.params) > 1e-4);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}
