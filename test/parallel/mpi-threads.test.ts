/**
 * The gradient-only thread workers an MPI rank runs with `--workers T` (hybrid ranks × threads),
 * without MPI: they must leave the sum of their micro-batch gradients, each scaled to a larger
 * global batch, in the shared region (gradSum, and rowSum at each touched row), and update nothing.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createModel } from './testing-model.js';
import { gatherColumns } from '../../src/data/batch.js';
import { initTrainState } from '../../src/train/state.js';
import { stepHyper } from '../../src/train/step.js';
import { ParallelStepRunner } from '../../src/parallel/runner.js';
import { maxRelDiff, randomSamples, smallSchema, TESTING_MODEL, trainConfig } from './helpers.js';

const schema = smallSchema();
const modelConfig = { dim: 8, hidden: 8 };
const model = createModel(modelConfig, schema);
const data = randomSamples(schema, 200, 5);
const B = 24, GLOBAL = 96;

test('gradient-only workers: 3 threads sum their gradients (scaled to a 4× larger global batch) into gradSum/rowSum and change nothing else', async () => {
  const cfg = trainConfig();
  const st = initTrainState(model, schema, cfg);
  const batch = gatherColumns(schema, data, Array.from({ length: B }, (_, i) => (i * 7) % data.n));
  // the oracle: one gradient of the whole batch, as its share of the global batch
  const want = model.grad(st.params, st.table, batch, B / GLOBAL);
  const shared = { ...st, m: new Float32Array(0), v: new Float32Array(0), tableM: new Float32Array(0), tableV: new Float32Array(0) };
  const params0 = Float32Array.from(st.params), table0 = Float32Array.from(st.table);
  const runner = new ParallelStepRunner(model, { workers: 3, transport: 'thread', engine: 'cpu', model: { module: TESTING_MODEL, config: modelConfig }, schema, batchSize: B, tableOptimizer: 'adagrad', gradientOnly: true });
  await runner.attach(shared);
  try {
    const V = runner.region()!;
    assert.equal(V.m.length + V.v.length + V.tableM.length + V.tableV.length, 0, 'no optimizer state');
    const r = await runner.step(shared, batch, stepHyper(cfg, 0.01), GLOBAL);
    assert.ok(Math.abs(r.loss - want.loss) <= 1e-5 * Math.abs(want.loss), `loss ${r.loss} vs ${want.loss}`);
    assert.ok(maxRelDiff(V.gradSum, want.denseGrad) <= 1e-5, `dense ${maxRelDiff(V.gradSum, want.denseGrad)}`);
    const D = model.dim;
    const rows = new Float32Array(want.rows.length * D);
    want.rows.forEach((row, k) => rows.set(V.rowSum.subarray(row * D, (row + 1) * D), k * D));
    assert.ok(want.rows.length > 10);
    assert.ok(maxRelDiff(rows, want.rowGrad.subarray(0, want.rows.length * D)) <= 1e-5, `rows ${maxRelDiff(rows, want.rowGrad)}`);
    // nothing was applied: parameters and table as they were
    assert.deepEqual(V.params, params0);
    assert.deepEqual(V.table, table0);
  } finally {
    await runner.close();
  }
});
