import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../src/data/generate.js';
import { applyCalibration, fitCalibration } from '../../src/model/calibration.js';

const sig = (x: number) => 1 / (1 + Math.exp(-x));

test('delayed calibration: Platt fit recovers a known (a, b) and fixes the level', () => {
  const rng = new Rng(4);
  const n = 40000;
  // raw scores under-predict: the truth is σ(1.2 + 0.8·logit(raw))
  const raw = new Float32Array(n), y = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const z = -4 + 1.2 * rng.normal();
    raw[i] = sig(z);
    y[i] = rng.next() < sig(1.2 + 0.8 * z) ? 1 : 0;
  }
  const idx = Int32Array.from({ length: n }, (_, i) => i);
  const c = fitCalibration(raw, y, idx)!;
  assert.ok(Math.abs(c.a - 1.2) < 0.25 && Math.abs(c.b - 0.8) < 0.06, `a ${c.a}, b ${c.b}`);
  assert.equal(c.n, n);
  const p = raw.slice();
  applyCalibration(c, p);
  const mean = (a: Float32Array) => a.reduce((s, x) => s + x, 0) / a.length;
  const pcocBefore = mean(raw) / mean(y), pcocAfter = mean(p) / mean(y);
  assert.ok(pcocBefore < 0.6, `raw PCOC ${pcocBefore}`);
  assert.ok(Math.abs(pcocAfter - 1) < 0.02, `calibrated PCOC ${pcocAfter}`);
  // monotone: the order of the predictions is kept
  for (let i = 1; i < 1000; i++) assert.equal(Math.sign(p[i] - p[i - 1]), Math.sign(raw[i] - raw[i - 1]));
});

test('delayed calibration: an implausible slope falls back to the intercept; one class gives none', () => {
  const n = 2000;
  // scores carry no information: the slope fit runs towards 0, outside [0.2, 5]
  const raw = Float32Array.from({ length: n }, (_, i) => sig(-3 + (i % 7) * 0.5));
  const y = Float32Array.from({ length: n }, (_, i) => (i % 10 === 0 ? 1 : 0));
  const idx = Int32Array.from({ length: n }, (_, i) => i);
  const c = fitCalibration(raw, y, idx)!;
  assert.equal(c.b, 1, 'intercept only');
  const p = raw.slice();
  applyCalibration(c, p);
  const mean = (a: Float32Array) => a.reduce((s, x) => s + x, 0) / a.length;
  assert.ok(Math.abs(mean(p) / 0.1 - 1) < 0.05, `level fixed: ${mean(p)}`);
  assert.equal(fitCalibration(raw, new Float32Array(n), idx), null);
});
