import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { createModel, initTable, type ModelConfig } from '../../src/model/index.js';
import { bceLogits, bceMixtureLogits, bceProductLogits, inverseWeight } from '../../src/model/losses.js';
import type { ModelName } from '../../src/model/types.js';
import { cpuBackend, syntheticBatch, tinyConfig, tinySchema } from './fixtures.js';

before(cpuBackend);

const schema = tinySchema();
const batch = syntheticBatch(schema, 24, 9, { maskDelayedEvery: 3 });
const bce = (p: number, y: number) => -(y * Math.log(p) + (1 - y) * Math.log(1 - p));

test('inverseWeight floors the propensity and clips the weight', () => {
  const w = tf.tidy(() => inverseWeight(tf.tensor1d([0.5, 0.1, 0.01, 1e-9, 0]), 1e-6, 15).arraySync());
  const expect = [2, 10, 15, 15, 15];
  w.forEach((x, i) => assert.ok(Math.abs(x - expect[i]) < 1e-5, `${i}: ${x}`));
  const w2 = tf.tidy(() => inverseWeight(tf.tensor1d([0.001, 0.2]), 0.01, 1e9).arraySync());
  assert.ok(Math.abs(w2[0] - 100) < 1e-3 && Math.abs(w2[1] - 5) < 1e-5);
});

test('BCE helpers stay finite at saturated logits and match the textbook formula elsewhere', () => {
  const [a, b] = tf.tidy(() => {
    const z = tf.tensor1d([-60, -2, 0, 3, 60]);
    const y = tf.tensor1d([1, 0, 1, 1, 0]);
    return [bceLogits(z, y).arraySync(), bceProductLogits(z, tf.tensor1d([60, 1, -1, 2, 60]), y).arraySync()];
  });
  for (const v of [...a, ...b]) assert.ok(Number.isFinite(v));
  const sig = (z: number) => 1 / (1 + Math.exp(-z));
  assert.ok(Math.abs(a[1] - bce(sig(-2), 0)) < 1e-5 && Math.abs(a[3] - bce(sig(3), 1)) < 1e-5);
  assert.ok(Math.abs(b[2] - bce(sig(0) * sig(-1), 1)) < 1e-5 && Math.abs(b[3] - bce(sig(3) * sig(2), 1)) < 1e-5);
  assert.ok(Math.abs(a[0] - 60) < 1e-3, 'log-loss of a confident miss is the logit');
});

/**
 * Loss term values recomputed on the host (float64) from the model's own predictions, the labels
 * and masks: checks masking, the 1/N normalisation, lossScale, the weights and the IPW clip.
 */
function oracle(cfg: ModelConfig, pr: { direct: Float32Array; atc: Float32Array; transition: Float32Array; delayed: Float32Array }, scale: number) {
  const n = batch.n, W = cfg.lossWeights;
  const t: Record<string, number> = { direct: 0, atc: 0, ctcvr: 0, cf: 0, delayed: 0 };
  for (let i = 0; i < n; i++) {
    const [yD, yA, yL] = batch.labels.subarray(i * 3, i * 3 + 3);
    const [mD, mA, mL] = batch.mask.subarray(i * 3, i * 3 + 3);
    t.direct += mD * bce(pr.direct[i], yD) * W.direct;
    t.atc += mA * bce(pr.atc[i], yA) * W.atc;
    t.ctcvr += mA * mL * bce(pr.atc[i] * pr.transition[i], yA * yL) * W.ctcvr;
    const w = Math.min(1 / Math.max(pr.atc[i], cfg.propensityFloor), cfg.maxInverseWeight);
    t.cf += mA * mL * yA * w * bce(pr.transition[i], yL) * W.cf;
    t.delayed += mL * bce(pr.delayed[i], yL) * W.delayed;
  }
  for (const k of Object.keys(t)) t[k] *= scale / n;
  return t;
}

const cases: [ModelName, Partial<ModelConfig>][] = [
  // maxInverseWeight 1.6 clips every propensity under 0.625: the clip is exercised.
  ['cmdcm', { maxInverseWeight: 1.6, lossWeights: { direct: 0.5, atc: 2, ctcvr: 1.5, cf: 0.3, imp: 0.1, delayed: 1 } }],
  // the delayed term of the non-cart path against BCE of the predicted mixture p_delayed
  ['cmdcm-nocf', {}],
  ['escm2-ipw', { maxInverseWeight: 15 }],
  ['esmm', {}],
  ['dnn', {}],
  ['mmoe', {}],
];

for (const [name, over] of cases) {
  test(`${name}: loss terms equal a host recomputation from the predictions`, () => {
    const m = createModel(tinyConfig(name, over), schema);
    const params = m.initParams(3);
    const table = initTable(schema.tableRows, m.dim, 4, 1);
    const pr = m.predict(params, table, batch);
    const scale = 0.75;
    const got = m.lossTerms(params, table, batch, scale);
    const want = oracle(m.config, pr, scale);
    assert.deepEqual(Object.keys(got).sort(), [...m.termNames].sort());
    for (const [k, v] of Object.entries(got)) {
      assert.ok(Math.abs(v - want[k]) <= 1e-4 * Math.abs(want[k]) + 1e-6, `${k}: model ${v}, oracle ${want[k]}`);
      assert.ok(v > 0, `${k} is ${v}`);
    }
    const g = m.grad(params, table, batch, scale);
    const sum = Object.values(g.terms).reduce((a, b) => a + b, 0);
    assert.ok(Math.abs(g.loss - sum) < 1e-5 * sum, 'loss is the sum of the terms');
  });
}

test('bceMixtureLogits: the BCE of σ(a)σ(t) + σ(−a)σ(n), finite at saturated logits', () => {
  const sig = (z: number) => 1 / (1 + Math.exp(-z));
  const za = [-2, 0.3, 1.5, 40, -40, 0], zt = [0.5, -1, 2, 30, -35, -60], zn = [-3, 0.2, -0.4, -50, 45, -60], y = [1, 0, 1, 0, 1, 1];
  const got = tf.tidy(() => bceMixtureLogits(tf.tensor1d(za), tf.tensor1d(zt), tf.tensor1d(zn), tf.tensor1d(y)).dataSync());
  for (let i = 0; i < 3; i++) {
    const p = sig(za[i]) * sig(zt[i]) + (1 - sig(za[i])) * sig(zn[i]);
    assert.ok(Math.abs(got[i] - bce(p, y[i])) < 1e-5, `${i}: ${got[i]} vs ${bce(p, y[i])}`);
  }
  // p ≈ 1 − 2e-22 with y = 0: log(1 − p) must come from the complement, not from 1 − p in floats
  assert.ok(Math.abs(got[3] - 30) < 1e-3, `saturated: ${got[3]}`);
  // p = σ(−40)σ(−35) + σ(40)σ(45) ≈ 1, y = 1 → ≈ 0
  assert.ok(got[4] >= 0 && got[4] < 1e-5, `saturated y=1: ${got[4]}`);
  // p ≈ e^−60 with y = 1: ≈ 60, finite
  assert.ok(Math.abs(got[5] - 60) < 1e-3, `tiny p: ${got[5]}`);
});

test('a sample whose labels are all masked contributes nothing', () => {
  const m = createModel(tinyConfig('cmdcm'), schema);
  const params = m.initParams(3);
  const table = initTable(schema.tableRows, m.dim, 4, 1);
  const flipped = { ...batch, labels: batch.labels.slice(), mask: batch.mask.slice() };
  for (let i = 0; i < batch.n; i += 2) {
    flipped.mask.fill(0, i * 3, i * 3 + 3);
    for (let j = 0; j < 3; j++) flipped.labels[i * 3 + j] = 1 - flipped.labels[i * 3 + j];
  }
  const masked = { ...flipped, labels: batch.labels };
  const a = m.grad(params, table, flipped);
  const b = m.grad(params, table, masked);
  assert.equal(a.loss, b.loss);
  assert.deepEqual(a.denseGrad, b.denseGrad);
});

test('intercept-only priors reach a rare base rate within a short run (ESMM direct, DNN atc)', async () => {
  const { tsOptim } = await import('../../src/engine/optim.js');
  for (const [name, task, term] of [['esmm', 0, 'direct'], ['dnn', 1, 'atc']] as const) {
    const m = createModel(tinyConfig(name), schema);
    const params = m.initParams(1);
    const table = initTable(schema.tableRows, m.dim, 1);
    const b = { ...batch, labels: new Float32Array(batch.labels.length), mask: new Float32Array(batch.mask.length).fill(1) };
    b.labels[task] = 1; // 1 positive of 24: rate 0.0417
    const pm = new Float32Array(params.length), pv = new Float32Array(params.length);
    for (let step = 1; step <= 120; step++) {
      const g = m.gradTerms(params, table, b, { only: [term] });
      tsOptim.adamDense(params, g.denseGrad, pm, pv, { lr: 0.005, beta1: 0.9, beta2: 0.999, eps: 1e-8, step });
    }
    const p = m.predict(params, table, b)[term][0];
    assert.ok(p > 0.0417 / 1.5 && p < 0.0417 * 1.5, `${name} ${term} prior ${p}, base rate 0.0417`);
  }
});
