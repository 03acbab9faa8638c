import assert from 'node:assert/strict';
import { test } from 'node:test';
import { benchBatch, benchSchema } from '../../bench/drivers/step.js';
import { optimKernels, useEngine } from '../../src/engine/index.js';
import { startKernelTrace, stopKernelTrace, type KernelTrace } from '../../src/engine/native/util.js';
import { engineAddon } from '../../src/engine/native/addon.js';
import { createModel, defaultModelConfig } from '../../src/model/index.js';
import { ENGINE, rand } from './helpers.js';

process.env.CMDCM_LOG_LEVEL = 'silent';

const skip = engineAddon() ? false : 'native addon not built';

test('CM-DCM trains on native along the cpu loss curve for 50 steps (Adam + lazy Adam)', { skip }, async () => {
  const schema = benchSchema(2000, 4);
  const batches = [0, 1, 2, 3].map((k) => benchBatch(schema, 16, 20 + k));
  // The CM-DCM architecture (gates, DIN, three towers, IPW) at a width that keeps 2 × 50 steps fast.
  const model = createModel({ ...defaultModelConfig('cmdcm'), towerUnits: [64, 32], gateUnits: 16 }, schema);
  const curves: Record<string, number[]> = {};
  let trace: KernelTrace | null = null;
  for (const engine of ['cpu', ENGINE] as const) {
    const k = optimKernels(await useEngine(engine));
    assert.equal(k.backend, engine === ENGINE ? 'addon' : 'ts');
    if (engine === ENGINE) startKernelTrace();
    const params = model.initParams(5);
    const table = rand(schema.tableRows * model.dim, 12, -0.05, 0.05);
    const m = new Float32Array(params.length), v = new Float32Array(params.length);
    const tm = new Float32Array(table.length), tv = new Float32Array(table.length);
    const losses: number[] = [];
    for (let step = 1; step <= 50; step++) {
      const g = model.grad(params, table, batches[step % batches.length]);
      losses.push(g.loss);
      const h = { lr: 0.003, beta1: 0.9, beta2: 0.999, eps: 1e-8, step };
      k.adamDense(params, g.denseGrad, m, v, h);
      k.lazyAdamRows(table, tm, tv, model.dim, g.rows, g.rowGrad, h);
    }
    if (engine === ENGINE) trace = stopKernelTrace();
    curves[engine] = losses;
  }
  const { cpu } = curves, native = curves[ENGINE];
  assert.ok(cpu[49] < cpu[0], `the loss should fall (${cpu[0]} -> ${cpu[49]})`);
  // Float rounding differs (summation order, vector exp), and 50 Adam steps amplify it slightly.
  cpu.forEach((l, i) => assert.ok(Math.abs(native[i] - l) <= 5e-4 * Math.abs(l), `step ${i + 1}: native ${native[i]} vs cpu ${l}`));
  // and the native curve is the native engine's: its own kernels ran, none fell back to tfjs's CPU ones
  assert.ok((trace!.native.get('_FusedMatMul') ?? 0) + (trace!.native.get('BatchMatMul') ?? 0) > 0, 'no native MatMul ran');
  assert.deepEqual([...trace!.fallback.keys()], [], "native kernels fell back to tfjs's CPU kernels");
});
