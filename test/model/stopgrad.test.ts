import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { createModel, initTable, type ForwardHooks, type GradResult, type NetModel, type TermName } from '../../src/model/index.js';
import type { ModelName } from '../../src/model/types.js';
import { cpuBackend, syntheticBatch, tinyConfig, tinySchema } from './fixtures.js';

/**
 * The stop-gradients of DESIGN.md "Known pitfalls": the counterfactual weight must not train the ATC
 * tower, and the gates' user-embedding input must not train the embeddings. Every check is paired
 * with the same model with that stop-gradient removed (a hook), which must fail the same assertion.
 */
before(cpuBackend);

const schema = tinySchema();
const batch = syntheticBatch(schema, 16, 3);
const table = initTable(schema.tableRows, 4, 5, 0.5);

function build(name: ModelName, over: Parameters<typeof tinyConfig>[1], hooks: ForwardHooks = {}): { m: NetModel; p: Float32Array } {
  const m = createModel(tinyConfig(name, over), schema, hooks);
  return { m, p: m.initParams(21) };
}

/** All gradient entries of the params whose name starts with `prefix`. */
function gradOf(m: NetModel, g: GradResult, prefix: string): number[] {
  const out: number[] = [];
  m.layout.specs.forEach((s, i) => {
    if (!s.name.startsWith(prefix)) return;
    const off = m.layout.offsets[i];
    const n = s.shape.reduce((a, b) => a * b, 1);
    out.push(...g.denseGrad.subarray(off, off + n));
  });
  assert.ok(out.length > 0, `no params under ${prefix}`);
  return out;
}
const maxAbs = (xs: number[]) => xs.reduce((a, x) => Math.max(a, Math.abs(x)), 0);
const allZero = (xs: number[]) => xs.every((x) => x === 0);

const cfCases: [ModelName, Parameters<typeof tinyConfig>[1], TermName[]][] = [
  ['cmdcm', { counterfactual: 'ipw' }, ['cf']],
  ['escm2-ipw', {}, ['cf']],
  ['escm2-dr', {}, ['cf']],
  ['escm2-dr', {}, ['imp']],
  ['cmdcm', { counterfactual: 'dr' }, ['cf', 'imp']],
];

for (const [name, over, only] of cfCases) {
  test(`${name} ${JSON.stringify(over)}: the ${only.join('+')} gradient w.r.t. the ATC tower is exactly zero`, () => {
    const { m, p } = build(name, over);
    const g = m.gradTerms(p, table, batch, { only });
    const atc = gradOf(m, g, 'tower/atc/');
    assert.ok(allZero(atc), `ATC tower gradient not zero: max |g| = ${maxAbs(atc)}`);
    if (m.config.gating) assert.ok(allZero(gradOf(m, g, 'gate/atc/')), 'ATC gates got gradient');
    // The term does train something: the transition tower (cf) or the imputation tower (imp).
    const trained = only.includes('cf') ? 'tower/transition/' : 'tower/imputation/';
    assert.ok(maxAbs(gradOf(m, g, trained)) > 1e-5, `${trained} got no gradient`);

    // The same model without the stop-gradient on the propensity leaks into the ATC tower.
    const leaky = build(name, over, { leak: ['propensity'] });
    const gl = leaky.m.gradTerms(leaky.p, table, batch, { only });
    assert.ok(maxAbs(gradOf(leaky.m, gl, 'tower/atc/')) > 1e-6, 'leak hook had no effect: this check could not fail');
  });
}

test('DR: the imputation loss does not train the transition tower, the DR term does not train the imputation tower', () => {
  const { m, p } = build('escm2-dr', {});
  const imp = m.gradTerms(p, table, batch, { only: ['imp'] });
  assert.ok(allZero(gradOf(m, imp, 'tower/transition/')));
  const cf = m.gradTerms(p, table, batch, { only: ['cf'] });
  assert.ok(allZero(gradOf(m, cf, 'tower/imputation/')));
  const leaky = build('escm2-dr', {}, { leak: ['error', 'imputation'] });
  assert.ok(maxAbs(gradOf(leaky.m, leaky.m.gradTerms(leaky.p, table, batch, { only: ['imp'] }), 'tower/transition/')) > 1e-6);
  assert.ok(maxAbs(gradOf(leaky.m, leaky.m.gradTerms(leaky.p, table, batch, { only: ['cf'] }), 'tower/imputation/')) > 1e-6);
});

/**
 * Gates: with the stop-gradient on the gate input, the embedding gradients must be exactly those of
 * the same network whose gate outputs are constants (no gradient path through the gates at all).
 * Without it, the user rows get an extra contribution through the gate input.
 */
test('cmdcm: the gates contribute no gradient to the user embedding rows through their input', () => {
  const full = build('cmdcm', {});
  const frozen = build('cmdcm', {}, { constantGates: true });
  const leaky = build('cmdcm', {}, { leak: ['gateInput'] });
  const gf = full.m.grad(full.p, table, batch);
  const gc = frozen.m.grad(frozen.p, table, batch);
  const gl = leaky.m.grad(leaky.p, table, batch);
  assert.deepEqual(Array.from(gf.rows), Array.from(gc.rows));
  const userRows = new Set<number>();
  for (let i = 0; i < batch.n; i++) userRows.add(batch.fields[i * schema.fields.length]);
  const D = full.m.dim;
  const scale = maxAbs(Array.from(gf.rowGrad));
  let maxDiffUser = 0, maxLeakUser = 0, maxDiffOther = 0;
  for (let r = 0; r < gf.rows.length; r++) {
    for (let j = 0; j < D; j++) {
      const k = r * D + j;
      const d = Math.abs(gf.rowGrad[k] - gc.rowGrad[k]);
      if (userRows.has(gf.rows[r])) {
        maxDiffUser = Math.max(maxDiffUser, d);
        maxLeakUser = Math.max(maxLeakUser, Math.abs(gl.rowGrad[k] - gc.rowGrad[k]));
      } else maxDiffOther = Math.max(maxDiffOther, d);
    }
  }
  assert.ok(maxDiffUser <= 1e-6 * scale, `user rows differ by ${maxDiffUser} (scale ${scale})`);
  assert.ok(maxDiffOther <= 1e-6 * scale, `other rows differ by ${maxDiffOther}`);
  assert.ok(maxLeakUser > 1e-3 * scale, `leak hook changed the user rows by only ${maxLeakUser}: this check could not fail`);
  // The gates themselves are trained (the stop-gradient is on their input, not their parameters).
  assert.ok(maxAbs(gradOf(full.m, gf, 'gate/emb/')) > 1e-5);
  assert.ok(maxAbs(gradOf(full.m, gf, 'gate/transition/')) > 1e-5);
  // …and the frozen network really had no gradient through them.
  assert.ok(allZero(gradOf(frozen.m, gc, 'gate/')));
});

test('non-cart path: ctcvr and cf give the non-cart tower exactly zero gradient; the delayed term trains it, the transition and the ATC towers', () => {
  const { m, p } = build('cmdcm', { counterfactual: 'ipw', nonCartPath: true });
  for (const only of [['ctcvr'], ['cf']] as TermName[][]) {
    const g = m.gradTerms(p, table, batch, { only });
    assert.ok(allZero(gradOf(m, g, 'tower/noncart/')), `${only[0]} reached the non-cart tower`);
    assert.ok(allZero(gradOf(m, g, 'gate/noncart/')), `${only[0]} reached the non-cart gates`);
  }
  const g = m.gradTerms(p, table, batch, { only: ['delayed'] });
  for (const t of ['tower/noncart/', 'tower/transition/', 'tower/atc/']) assert.ok(maxAbs(gradOf(m, g, t)) > 1e-6, `delayed term did not reach ${t}`);
  assert.ok(allZero(gradOf(m, g, 'tower/direct/')), 'delayed term reached the direct tower');
  // the published baselines keep p_delayed = p_a·p_t: no non-cart tower, no delayed term
  const esmm = build('esmm', {}).m;
  assert.ok(!esmm.termNames.includes('delayed') && !esmm.layout.specs.some((s) => s.name.startsWith('tower/noncart')));
});

test('non-cart path predictions: p_delayed = p_a·p_t + (1 − p_a)·p_n ≥ p_a·p_t, and p_transition is the transition tower alone', () => {
  const a = build('cmdcm', { nonCartPath: true });
  const off = build('cmdcm', { nonCartPath: false });
  const pa = a.m.predict(a.p, table, batch);
  const po = off.m.predict(off.p, table, batch);
  for (let i = 0; i < batch.n; i++) {
    assert.ok(pa.delayed[i] > pa.atc[i] * pa.transition[i], `${i}: mixture not above the carted path`);
    assert.ok(pa.delayed[i] < pa.atc[i] * pa.transition[i] + (1 - pa.atc[i]) + 1e-6);
  }
  assert.ok(po.delayed.every((d, i) => Math.abs(d - po.atc[i] * po.transition[i]) < 1e-7));
});
