import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../src/data/generate.js';
import type { SampleColumns } from '../../src/data/batch.js';
import type { Predictions } from '../../src/model/types.js';
import { evaluatePredictions } from '../../src/eval/report.js';
import { bootstrapIntervals, summarize, type Scored } from '../../src/eval/compare-table.js';
import { auc } from '../../src/eval/metrics.js';
import { scoredOrder, weightedAuc, userBootstrap, percentileInterval } from '../../src/eval/bootstrap.js';

const sig = (x: number) => 1 / (1 + Math.exp(-x));

/** A test split whose labels are drawn from known probabilities (the oracle). */
function world(n: number, users: number, seed: number) {
  const rng = new Rng(seed);
  const p = { direct: new Float32Array(n), atc: new Float32Array(n), delayed: new Float32Array(n), transition: new Float32Array(n) };
  const labels = new Float32Array(n * 3), mask = new Float32Array(n * 3).fill(1);
  const user = new Int32Array(n), daysToPromo = new Int32Array(n);
  const uEff = Array.from({ length: users }, () => rng.normal());
  for (let i = 0; i < n; i++) {
    user[i] = rng.int(users);
    daysToPromo[i] = 1 + rng.int(3);
    const z = rng.normal() + uEff[user[i]];
    p.atc[i] = sig(-2 + z);
    p.direct[i] = sig(-3 + 0.8 * z);
    p.transition[i] = sig(-1 + 0.5 * z);
    p.delayed[i] = p.atc[i] * p.transition[i];
    labels[i * 3] = rng.next() < p.direct[i] ? 1 : 0;
    labels[i * 3 + 1] = rng.next() < p.atc[i] ? 1 : 0;
    labels[i * 3 + 2] = labels[i * 3 + 1] && rng.next() < p.transition[i] ? 1 : 0;
  }
  const cols = { n, labels, mask, user, daysToPromo } as unknown as SampleColumns;
  return { cols, p, rng };
}

function scored(model: Scored['model'], cols: SampleColumns, preds: Predictions[]): Scored {
  return { model, seeds: preds.map((_, j) => j + 1), preds, reports: preds.map((q) => evaluatePredictions(cols, q)), pearson: preds.map(() => null), steps: [1], seconds: [1] };
}

test('weighted AUC with unit weights equals the rank-sum AUC (ties included)', () => {
  const rng = new Rng(3);
  const n = 500;
  const pred = Float32Array.from({ length: n }, () => Math.round(rng.next() * 20) / 20);
  const y = Float32Array.from({ length: n }, (_, i) => (rng.next() < pred[i] ? 1 : 0));
  const idx = Int32Array.from({ length: n }, (_, i) => i);
  const w = new Float64Array(n).fill(1);
  assert.ok(Math.abs(weightedAuc(scoredOrder(pred, idx), y, w)! - auc(pred, y)!) < 1e-12);
  // integer weights = duplicated samples
  const w2 = Float64Array.from({ length: n }, (_, i) => i % 3);
  const dupIdx: number[] = [];
  for (let i = 0; i < n; i++) for (let k = 0; k < w2[i]; k++) dupIdx.push(i);
  assert.ok(Math.abs(weightedAuc(scoredOrder(pred, idx), y, w2)! - auc(pred, y, dupIdx)!) < 1e-12);
  // each bootstrap draw keeps a user's clicks together
  const user = Int32Array.from({ length: n }, (_, i) => i % 37);
  for (const d of userBootstrap(user, idx, 5, 1)) {
    for (let i = 0; i < n; i++) assert.equal(d[i], d[user[i]]);
    assert.equal(Array.from({ length: 37 }, (_, u) => d[u]).reduce((a, b) => a + b, 0), 37);
  }
  assert.deepEqual(percentileInterval([1, 2, 3, 4, 5], 0.5), [2, 4]);
});

test('compare leak guard: a model that saw the test labels beats the oracle and is flagged; an honest one is not', () => {
  const { cols, p, rng } = world(6000, 600, 7);
  const noisy = (q: Float32Array, s: number) => Float32Array.from(q, (x) => sig(Math.log(x / (1 - x)) + s * rng.normal()));
  const honest: Predictions = { direct: noisy(p.direct, 0.6), atc: noisy(p.atc, 0.6), transition: noisy(p.transition, 0.6), delayed: noisy(p.delayed, 0.6) };
  // memorised outcomes: the label itself, blurred a little
  const leakAtc = Float32Array.from({ length: cols.n }, (_, i) => 0.3 * cols.labels[i * 3 + 1] + 0.7 * p.atc[i]);
  const leaky: Predictions = { ...honest, atc: leakAtc };
  const s = [scored('cmdcm', cols, [honest]), scored('esmm', cols, [leaky]), scored('oracle', cols, [p])];
  const rows = s.map((x) => summarize(x, false));
  bootstrapIntervals(cols, s, rows, 100, 1);
  assert.deepEqual(rows[0].leak, [], 'the honest model is not flagged');
  assert.deepEqual(rows[1].leak, ['atc'], 'the model that saw the atc labels is flagged');
  assert.match(rows[1].warnings.join('\n'), /atc AUC beats the truth probabilities'/);
  // Δ delayed AUC of esmm vs cmdcm: the same delayed predictions, so exactly 0 with a zero-width interval
  assert.deepEqual(rows[1].deltaDelayedAuc, { mean: 0, lo: 0, hi: 0 });
  const better = rows[2].deltaDelayedAuc!;
  assert.ok(better.hi < 0 && better.lo <= better.mean && better.mean <= better.hi, 'the oracle ranks delayed better than the noisy model, beyond noise');
});
