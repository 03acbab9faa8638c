import assert from 'node:assert/strict';
import { test } from 'node:test';
import { benchBatch, benchSchema } from '../../../bench/drivers/step.js';
import { optimKernels, useEngine } from '../../../src/engine/index.js';
import { createModel, defaultModelConfig } from '../../../src/model/index.js';
import { ParallelStepRunner } from '../../../src/parallel/runner.js';
import { initTrainState, type TrainState } from '../../../src/train/state.js';
import { stepHyper, trainStep } from '../../../src/train/step.js';
import { maxRelDiff, ourShmEntries, shmSkip, trainConfig } from '../../parallel/helpers.js';

/**
 * Multi-GPU is the process transport with one worker process per GPU (`--transport process --gpus
 * 0,1`), each with its own device and context, gradients reduced over shared memory as for every
 * engine. Here: 2 worker processes on the cuda engine (on the CPU shim device; the env reaches the
 * children) follow the native engine's single-process trajectory for CM-DCM within float tolerance.
 */
process.env.CMDCM_CUDA_DEVICE ??= 'shim';
process.env.CMDCM_LOG_LEVEL = 'silent';

const schema = benchSchema(2000, 4);
const modelConfig = { ...defaultModelConfig('cmdcm'), towerUnits: [32, 16], gateUnits: 8 };
const model = createModel(modelConfig, schema);
const K = 6, B = 32;
const batches = Array.from({ length: K }, (_, k) => benchBatch(schema, B, 40 + k));
const noShm = await shmSkip();

async function reference(engine: 'native' | 'cpu' | 'cuda'): Promise<{ st: TrainState; losses: number[] }> {
  const cfg = trainConfig();
  const st = initTrainState(model, schema, cfg);
  const k = optimKernels(await useEngine(engine));
  const losses = batches.map((b) => trainStep(model, st, b, stepHyper(cfg, 0.01), k).loss);
  return { st, losses };
}

test('process transport: 2 cuda workers (shim device) follow the native engine on CM-DCM', { skip: noShm }, async () => {
  const { st: want, losses: wantLosses } = await reference('native');
  // how far two correct engines drift apart here: Adam turns rounding-level differences of
  // near-zero gradients into whole lr-sized steps, so parameters are compared against this spread
  const spread = maxRelDiff((await reference('cpu')).st.params, want.params);
  const losses: number[] = [];
  const cfg = trainConfig();
  const st = initTrainState(model, schema, cfg);
  const init = initTrainState(model, schema, cfg);
  const runner = new ParallelStepRunner(model, { workers: 2, transport: 'process', engine: 'cuda', model: { config: modelConfig }, schema, batchSize: B, tableOptimizer: cfg.tableOptimizer });
  await runner.attach(st);
  try {
    for (let k = 0; k < K; k++) {
      const r = await runner.step(st, batches[k], stepHyper(cfg, 0.01));
      assert.equal(r.step, k + 1);
      assert.ok(Number.isFinite(r.loss) && r.loss > 0);
      losses.push(r.loss);
    }
  } finally {
    await runner.close();
  }
  // the run moved, and both ran the same steps
  assert.ok(maxRelDiff(want.params, init.params) > 1e-3);
  assert.equal(st.step, want.step);
  losses.forEach((l, i) => assert.ok(Math.abs(l - wantLosses[i]) <= 5e-4 * Math.abs(wantLosses[i]), `step ${i + 1}: loss ${l} vs native ${wantLosses[i]}`));
  for (const key of ['params', 'm', 'v', 'table', 'tableM', 'tableV'] as const) {
    const d = maxRelDiff(st[key], want[key]);
    // Adam's moments and the embedding rows agree to rounding; a dense parameter whose gradient is
    // ~0 moves ±lr on either engine's rounding, as it does between cpu and native (`spread`)
    const bound = key === 'params' ? Math.max(1e-4, 4 * spread) : 1e-4;
    assert.ok(d <= bound, `${key} differs from native by ${d.toExponential(2)} (relative; cpu vs native params: ${spread.toExponential(2)})`);
  }
  assert.deepEqual(await ourShmEntries(), []);
});
