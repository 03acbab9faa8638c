import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gatherColumns } from '../../src/data/batch.js';
import { initTrainState } from '../../src/train/state.js';
import { applyGradients, stepHyper } from '../../src/train/step.js';
import { ParallelStepRunner } from '../../src/parallel/runner.js';
import { maxRelDiff, shmSkip, trainConfig } from './helpers.js';

const noShm = await shmSkip();
// The same contract on the real CM-DCM network (tiny widths), built in every worker by
// src/model's createModel on the native engine (cpu when the addon is missing).
test('real CM-DCM model: 2 workers (threads and processes) follow the single-process step', async (t) => {
  const { createModel: createReal, defaultModelConfig } = await import('../../src/model/index.js');
  const { syntheticSchema, syntheticSamples } = await import('./testing-data.js');
  const { useEngine } = await import('../../src/engine/index.js');
  const { loadAddon } = await import('../../src/native.js');
  const engine = loadAddon() ? 'native' : 'cpu';
  await useEngine(engine);
  const rs = syntheticSchema({ users: 64, items: 128, categories: 16, geohash: 16, seqLen: 4 });
  const cfgM = { ...defaultModelConfig('cmdcm'), dim: 4, towerUnits: [8, 4], attentionUnits: [4], gateUnits: 5 };
  const real = createReal(cfgM, rs);
  const rdata = syntheticSamples(rs, 256, 21);
  const RB = 32, RK = 5;
  const batch = (k: number) => gatherColumns(rs, rdata, Array.from({ length: RB }, (_, i) => (k * RB + i) % rdata.n));
  const cfg = trainConfig();
  const want = initTrainState(real, rs, cfg);
  // The reference is trainStep itself, split open to record each parameter's largest |gradient|:
  // a parameter whose gradient is only round-off (e.g. a bias in front of a softmax, which is
  // shift-invariant) gets Adam steps of ±lr·noise/(noise+eps) whose size depends on the summation
  // order, so no split of the batch can reproduce it; such parameters do not influence the loss and
  // are compared separately below.
  const gmax = new Float64Array(real.layout.total);
  let gtop = 0;
  for (let k = 0; k < RK; k++) {
    const g = real.grad(want.params, want.table, batch(k), 1);
    for (let i = 0; i < g.denseGrad.length; i++) gmax[i] = Math.max(gmax[i], Math.abs(g.denseGrad[i]));
    gtop = Math.max(gtop, ...gmax);
    applyGradients(want, real.dim, g, stepHyper(cfg, 0.01));
  }
  const roundOff = [...gmax.keys()].filter((i) => gmax[i] > 0 && gmax[i] <= 1e-6 * gtop);
  const specAt = (i: number) => real.layout.specs[real.layout.offsets.filter((o) => o <= i).length - 1];
  const names = roundOff.map((i) => specAt(i).name);
  t.diagnostic(`parameters with round-off-only gradients (compared loosely): ${[...new Set(names)].join(', ') || 'none'}`);
  assert.ok(roundOff.length <= real.layout.total / 100);
  const keep = (a: Float32Array) => a.filter((_, i) => !roundOff.includes(i));
  for (const transport of ['thread', 'process'] as const) {
    if (transport === 'process' && noShm) {
      t.diagnostic(`process transport skipped: ${noShm}`);
      continue;
    }
    const st = initTrainState(real, rs, cfg);
    const runner = new ParallelStepRunner(real, { workers: 2, transport, engine, model: { config: cfgM }, schema: rs, batchSize: RB, tableOptimizer: cfg.tableOptimizer });
    await runner.attach(st);
    try {
      for (let k = 0; k < RK; k++) await runner.step(st, batch(k), stepHyper(cfg, 0.01));
    } finally {
      await runner.close();
    }
    for (const k of ['params', 'm', 'v', 'table', 'tableM', 'tableV'] as const) {
      const dense = k === 'params' || k === 'm' || k === 'v';
      const d = dense ? maxRelDiff(keep(st[k]), keep(want[k])) : maxRelDiff(st[k], want[k]);
      t.diagnostic(`${transport}: ${k} max relative difference ${d.toExponential(2)}`);
      // the round-off parameters still move by at most a few lr-sized steps
      if (k === 'params') for (const i of roundOff) assert.ok(Math.abs(st.params[i] - want.params[i]) <= 2 * 0.01 * RK);
      assert.ok(d <= 1e-5, `${transport}: ${k} differs by ${d}`);
    }
  }
});
