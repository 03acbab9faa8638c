import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { createModel, initTable, isCmdcmFamily, MODEL_NAMES } from '../../src/model/index.js';
import { tsOptim } from '../../src/engine/optim.js';
import { cpuBackend, syntheticBatch, tinyConfig, tinySchema } from './fixtures.js';

before(cpuBackend);

const schema = tinySchema();
const batch = syntheticBatch(schema, 32, 13);
const STEPS = 25;

/** Rank AUC (ties half), the independent check that a head learned its label. */
function auc(score: Float32Array, label: (i: number) => number): number {
  let pos = 0, neg = 0, wins = 0;
  for (let i = 0; i < score.length; i++) {
    if (!label(i)) continue;
    pos++;
    for (let j = 0; j < score.length; j++) {
      if (label(j)) continue;
      wins += score[i] > score[j] ? 1 : score[i] === score[j] ? 0.5 : 0;
    }
  }
  for (let j = 0; j < score.length; j++) if (!label(j)) neg++;
  return wins / (pos * neg);
}

for (const name of MODEL_NAMES) {
  test(`${name}: builds, trains with Adam and lowers its loss; predictions are probabilities`, () => {
    const m = createModel(tinyConfig(name), schema);
    const params = m.initParams(1);
    const table = initTable(schema.tableRows, m.dim, 2, 0.1);
    const pm = new Float32Array(params.length), pv = new Float32Array(params.length);
    const tm = new Float32Array(table.length), tv = new Float32Array(table.length);
    const losses: number[] = [];
    for (let step = 1; step <= STEPS; step++) {
      const g = m.grad(params, table, batch);
      assert.ok(Number.isFinite(g.loss), `step ${step}: loss ${g.loss}`);
      losses.push(g.loss);
      const h = { lr: 0.03, beta1: 0.9, beta2: 0.999, eps: 1e-8, step };
      tsOptim.adamDense(params, g.denseGrad, pm, pv, h);
      tsOptim.lazyAdamRows(table, tm, tv, m.dim, g.rows, g.rowGrad, h);
    }
    const last = m.grad(params, table, batch).loss;
    assert.ok(last < 0.75 * losses[0], `loss ${losses[0]} → ${last}`);

    const pr = m.predict(params, table, batch);
    for (const [k, a] of Object.entries(pr)) {
      assert.equal(a.length, batch.n);
      for (const x of a) assert.ok(x > 0 && x < 1, `${k} prediction ${x} not in (0,1)`);
    }
    const y = (t: number) => (i: number) => batch.labels[i * 3 + t];
    // Every model ranks the delayed label (its own task or the product) well on this separable batch.
    assert.ok(auc(pr.delayed, y(2)) > 0.9, `delayed AUC ${auc(pr.delayed, y(2))}`);
    if (isCmdcmFamily(name)) {
      // the carted path alone, or plus the non-cart path (1 − p_a)·p_n > 0
      if (m.config.nonCartPath) for (let i = 0; i < batch.n; i++) assert.ok(pr.delayed[i] > pr.atc[i] * pr.transition[i] && pr.delayed[i] < pr.atc[i] * pr.transition[i] + 1 - pr.atc[i] + 1e-6);
      else for (let i = 0; i < batch.n; i++) assert.equal(pr.delayed[i], Math.fround(pr.atc[i] * pr.transition[i]));
      assert.ok(auc(pr.atc, y(1)) > 0.9, `atc AUC ${auc(pr.atc, y(1))}`);
    }
    if (m.config.directTask) assert.ok(auc(pr.direct, y(0)) > 0.9, `direct AUC ${auc(pr.direct, y(0))}`);
  });
}
