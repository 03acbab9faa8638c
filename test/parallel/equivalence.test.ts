import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createModel } from './testing-model.js';
import { gatherColumns } from '../../src/data/batch.js';
import { initTrainState, type TrainState } from '../../src/train/state.js';
import { applyGradients, stepHyper, trainStep } from '../../src/train/step.js';
import { ParallelStepRunner } from '../../src/parallel/runner.js';
import type { Transport } from '../../src/parallel/gpus.js';
import { maxRelDiff, ourShmEntries, shmSkip, randomSamples, smallSchema, TESTING_MODEL, trainConfig } from './helpers.js';

const schema = smallSchema();
const modelConfig = { dim: 8, hidden: 8 };
const model = createModel(modelConfig, schema);
const data = randomSamples(schema, 400, 11);
const K = 12, B = 32;
const noShm = await shmSkip();

function batchAt(k: number) {
  const idx = Array.from({ length: B }, (_, i) => (k * B + i) % data.n);
  return gatherColumns(schema, data, idx);
}

/** Oracle: the single-process trainer's own step on the whole global batch. */
function reference(tableOptimizer: 'lazyAdam' | 'adagrad'): TrainState {
  const cfg = trainConfig({ tableOptimizer });
  const st = initTrainState(model, schema, cfg);
  for (let k = 0; k < K; k++) trainStep(model, st, batchAt(k), stepHyper(cfg, 0.01));
  return st;
}

async function parallel(workers: number, transport: Transport, tableOptimizer: 'lazyAdam' | 'adagrad'): Promise<TrainState> {
  const cfg = trainConfig({ tableOptimizer });
  const st = initTrainState(model, schema, cfg);
  const runner = new ParallelStepRunner(model, { workers, transport, engine: 'cpu', model: { module: TESTING_MODEL, config: modelConfig }, schema, batchSize: B, tableOptimizer });
  await runner.attach(st);
  try {
    for (let k = 0; k < K; k++) {
      const r = await runner.step(st, batchAt(k), stepHyper(cfg, 0.01));
      assert.equal(r.step, k + 1);
      assert.ok(Number.isFinite(r.loss) && r.loss > 0);
    }
  } finally {
    await runner.close();
  }
  return st;
}

function assertSameTrajectory(got: TrainState, want: TrainState, what: string) {
  assert.equal(got.step, want.step);
  for (const k of ['params', 'm', 'v', 'table', 'tableM', 'tableV'] as const) {
    const d = maxRelDiff(got[k], want[k]);
    assert.ok(d <= 1e-5, `${what}: ${k} differs by ${d.toExponential(2)} (relative)`);
  }
}

for (const transport of ['thread', 'process'] as const) {
  test(`${transport} transport: 2 workers × batch ${B / 2} follow 1 worker × batch ${B} (lazy Adam rows)`, { skip: transport === 'process' && noShm }, async () => {
    const want = reference('lazyAdam');
    // the run moved: the comparison is not between two untouched initial states
    const init = initTrainState(model, schema, trainConfig());
    assert.ok(maxRelDiff(want.params, init.params) > 1e-3);
    assert.ok(maxRelDiff(want.table, init.table) > 1e-3);
    const one = await parallel(1, transport, 'lazyAdam');
    assertSameTrajectory(one, want, '1 worker');
    const two = await parallel(2, transport, 'lazyAdam');
    assertSameTrajectory(two, want, '2 workers');
    assert.deepEqual(await ourShmEntries(), []);
  });
}

test('threads: 3 workers with Adagrad rows (uneven micro-batches and slices)', async () => {
  const want = reference('adagrad');
  const three = await parallel(3, 'thread', 'adagrad');
  assertSameTrajectory(three, want, '3 workers');
  assert.equal(three.tableV.length, 0);
});

