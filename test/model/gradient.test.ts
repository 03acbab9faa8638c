import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { createModel, initTable, type TermName } from '../../src/model/index.js';
import type { ModelName } from '../../src/model/types.js';
import { cpuBackend, syntheticBatch, tinyConfig, tinySchema } from './fixtures.js';
import { fdCheck } from './gradcheck.js';

before(cpuBackend);

const schema = tinySchema();
// Every 4th delayed label masked: the masks are part of what the gradient must get right.
const batch = syntheticBatch(schema, 12, 7, { maskDelayedEvery: 4 });
const TOL = 2e-2;

const cases: [TermName, ModelName, Parameters<typeof tinyConfig>[1], number?][] = [
  // step 5e-4: at this seed a ReLU kink lies within ±2e-3 of one day-embedding component (the
  // error grows with the step, 0.7% → 3.5% → 4.3% for 5e-4, 2e-3, 8e-3, as a kink does; a wrong
  // gradient would not shrink with it)
  ['direct', 'cmdcm', {}, 5e-4],
  ['atc', 'cmdcm', {}],
  ['ctcvr', 'cmdcm', {}],
  // the default gates: tower gates on the user statistics only
  ['ctcvr', 'cmdcm', { gateEmbedding: false, gateUserEmbedding: false }],
  ['atc', 'cmdcm', { gateEmbedding: false, gateUserEmbedding: true }],
  // per-task dense: the delayed path sees the masked columns
  // step 5e-4: a ReLU kink of a transition-tower unit lies within 2e-3 of tower/transition/0/w[195]
  // at this seed (its error 18% → 0.9% from step 2e-3 to 5e-4; it is 1.5% at 2e-3 without the
  // non-cart tower, whose parameters shift the init)
  ['ctcvr', 'cmdcm', { perTaskDense: true, delayedDenseMask: [1, 0] }, 5e-4],
  ['delayed', 'dnn', { perTaskDense: true, delayedDenseMask: [0, 1] }],
  ['cf', 'cmdcm', { counterfactual: 'ipw' }],
  ['cf', 'cmdcm', { counterfactual: 'dr' }],
  ['imp', 'cmdcm', { counterfactual: 'dr' }],
  ['ctcvr', 'cmdcm', { seqPooling: 'mean' }],
  // the (opt-in) non-cart path's entire-space term through p_a·p_t + (1 − p_a)·p_n
  ['delayed', 'cmdcm', { nonCartPath: true }],
  ['delayed', 'cmdcm-nodirect', { nonCartPath: true }],
  // standardized dense input, one zero-variance column (mapped to 0)
  ['atc', 'cmdcm', { denseStats: { mean: [1.2, 0.1], std: [0.7, 0] } }],
  ['delayed', 'mmoe', {}],
  ['delayed', 'dnn', {}],
];

for (const [term, name, over, h] of cases) {
  test(`finite differences match the ${term} gradient of ${name} ${JSON.stringify(over)}`, () => {
    const model = createModel(tinyConfig(name, over), schema);
    const params = model.initParams(11);
    const table = initTable(schema.tableRows, model.dim, 12, 0.5);
    const { dense, rows } = fdCheck(model, params, table, batch, term, 6, h);
    for (const r of [dense, rows]) {
      assert.ok(r.maxAbsGrad > 1e-4, `term ${term} has a vanishing gradient:\n${r.details.join('\n')}`);
      assert.ok(r.worst < TOL, `relative error ${r.worst} > ${TOL}:\n${r.details.join('\n')}`);
    }
  });
}

test('the checker discriminates: gradients that include a path the forward pass detaches fail it', () => {
  // With the gate-input stop-gradient removed, the analytic user-row gradients include the gate
  // path while the pinned finite differences do not: the check must report the mismatch.
  const model = createModel(tinyConfig('cmdcm'), schema, { leak: ['gateInput'] });
  const { rows } = fdCheck(model, model.initParams(11), initTable(schema.tableRows, model.dim, 12, 0.5), batch, 'atc', 12);
  assert.ok(rows.worst > 3 * TOL, `leaky gradient passed the check (worst ${rows.worst}):\n${rows.details.join('\n')}`);
});
