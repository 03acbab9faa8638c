import { test } from 'node:test';
import assert from 'node:assert/strict';
import { auc, gauc, logloss, pcoc, pearson } from '../../src/eval/metrics.js';
import { evaluatePredictions, reportMarkdown, validationLoglosses } from '../../src/eval/report.js';
import { allocColumns, type SampleColumns } from '../../src/data/batch.js';
import type { Predictions } from '../../src/model/types.js';
import { Rng } from '../../src/util/rng.js';
import { tinySchema } from '../train/fixtures.js';

/** Oracle: the probability a random positive outranks a random negative, ties counting 1/2. */
function pairAuc(p: number[], y: number[]): number | null {
  let num = 0, den = 0;
  for (let i = 0; i < p.length; i++) for (let j = 0; j < p.length; j++) {
    if (y[i] === 1 && y[j] === 0) {
      den++;
      num += p[i] > p[j] ? 1 : p[i] === p[j] ? 0.5 : 0;
    }
  }
  return den ? num / den : null;
}

test('auc equals the pair-counting oracle, with heavy ties', () => {
  const r = new Rng(3);
  for (let trial = 0; trial < 30; trial++) {
    const n = 1 + r.int(60);
    const p = Array.from({ length: n }, () => r.int(5) / 4); // 5 distinct values: many ties
    const y = Array.from({ length: n }, () => (r.next() < 0.4 ? 1 : 0));
    const want = pairAuc(p, y);
    const got = auc(p, y);
    if (want === null) assert.equal(got, null);
    else assert.ok(Math.abs(got! - want) < 1e-12, `${got} vs ${want}`);
  }
  // hand-computed: positives {0.8, 0.4}, negatives {0.4, 0.1}: pairs 1 + 1 + 0.5 + 1 = 3.5 / 4
  assert.equal(auc([0.8, 0.4, 0.4, 0.1], [1, 1, 0, 0]), 0.875);
  assert.equal(auc([0.3, 0.3, 0.3], [1, 0, 1]), 0.5);
  assert.equal(auc([0.3, 0.2], [1, 1]), null);
});

test('gauc: per-user AUC weighted by the user\'s samples, single-class users skipped', () => {
  // user 1: [0.9 pos, 0.1 neg, 0.5 neg] → AUC 1, 3 samples
  // user 2: [0.2 pos, 0.6 neg] → AUC 0, 2 samples
  // user 3: [0.7 pos] only positives → skipped
  // user 4: [0.4 pos, 0.4 neg, 0.3 neg, 0.9 neg] → pairs 0.5 + 1 + 0 = 1.5 / 3 = 0.5, 4 samples
  const p = [0.9, 0.1, 0.5, 0.2, 0.6, 0.7, 0.4, 0.4, 0.3, 0.9];
  const y = [1, 0, 0, 1, 0, 1, 1, 0, 0, 0];
  const u = [1, 1, 1, 2, 2, 3, 4, 4, 4, 4];
  const g = gauc(p, y, u);
  assert.equal(g.groupsUsed, 3);
  assert.ok(Math.abs(g.gauc! - (3 * 1 + 2 * 0 + 4 * 0.5) / 9) < 1e-12);
  assert.equal(gauc([0.1, 0.2], [1, 1], [1, 2]).gauc, null);
});

test('logloss, pcoc and pearson against hand values', () => {
  const ll = logloss([0.8, 0.3], [1, 0])!;
  assert.ok(Math.abs(ll - -(Math.log(0.8) + Math.log(0.7)) / 2) < 1e-12);
  assert.ok(Number.isFinite(logloss([0, 1], [1, 0])!), 'clipped');
  assert.ok(Math.abs(pcoc([0.2, 0.2, 0.2, 0.2], [1, 0, 0, 0])! - 0.8) < 1e-12);
  assert.equal(pcoc([0.1], [0]), null);
  assert.ok(Math.abs(pearson([1, 2, 3], [2, 4, 6])! - 1) < 1e-12);
  assert.ok(Math.abs(pearson([1, 2, 3], [3, 2, 1])! + 1) < 1e-12);
  assert.ok(Math.abs(pearson([1, 2, 3, 4], [1, 3, 2, 4])! - 0.8) < 1e-12);
  assert.equal(pearson([1, 1], [1, 2]), null);
});

/** Generated eval data: atc ~ Bernoulli, delayed only among carted clicks. */
function evalColumns(n: number, seed: number): SampleColumns {
  const c = allocColumns(tinySchema(), n);
  const r = new Rng(seed);
  for (let i = 0; i < n; i++) {
    const atc = r.next() < 0.3 ? 1 : 0;
    const del = atc && r.next() < 0.5 ? 1 : 0;
    const dir = r.next() < 0.05 ? 1 : 0;
    c.labels.set([dir, atc, del], i * 3);
    c.mask.set([1, 1, 1], i * 3);
    c.user[i] = r.int(15);
    c.daysToPromo[i] = 1 + r.int(3);
  }
  return c;
}

function noisyPreds(c: SampleColumns, seed: number, noise: number): Predictions {
  const r = new Rng(seed);
  const p: Predictions = { direct: new Float32Array(c.n), atc: new Float32Array(c.n), transition: new Float32Array(c.n), delayed: new Float32Array(c.n) };
  const clamp = (x: number) => Math.min(0.99, Math.max(0.01, x));
  for (let i = 0; i < c.n; i++) {
    p.direct[i] = clamp(0.05 + 0.2 * c.labels[i * 3] + noise * r.normal());
    p.atc[i] = clamp(0.3 + 0.2 * c.labels[i * 3 + 1] + noise * r.normal());
    p.transition[i] = clamp(0.5 + 0.2 * c.labels[i * 3 + 2] + noise * r.normal());
    p.delayed[i] = p.atc[i] * p.transition[i];
  }
  return p;
}

test('evaluatePredictions: task populations and metrics match direct computation', () => {
  const c = evalColumns(600, 5);
  c.mask[0 * 3 + 2] = 0; // one click without its delayed label
  const p = noisyPreds(c, 6, 0.2);
  const r = evaluatePredictions(c, p);
  const carted = [...Array(c.n).keys()].filter((i) => c.labels[i * 3 + 1] === 1 && c.mask[i * 3 + 2] === 1);
  assert.equal(r.tasks.transition.n, carted.length);
  assert.equal(r.tasks.delayed.n, c.n - 1);
  assert.equal(r.tasks.atc.n, c.n);
  const want = pairAuc(carted.map((i) => p.transition[i]), carted.map((i) => c.labels[i * 3 + 2]))!;
  assert.ok(Math.abs(r.tasks.transition.auc! - want) < 1e-9);
  const day2 = [...Array(c.n).keys()].filter((i) => c.daysToPromo[i] === 2 && c.mask[i * 3 + 2] === 1);
  const wantDay = pairAuc(day2.map((i) => p.delayed[i]), day2.map((i) => c.labels[i * 3 + 2]))!;
  assert.ok(Math.abs(r.byDaysToPromo['2'].delayed.auc! - wantDay) < 1e-9);
  assert.deepEqual(Object.keys(r.byDaysToPromo), ['1', '2', '3']);
  assert.ok(r.tasks.delayed.auc! > 0.6 && r.tasks.delayed.auc! < 0.999);
  assert.deepEqual(r.warnings, []);
  const md = reportMarkdown(r, 'Test');
  assert.match(md, /\| transition \| \d+ \| \d+ \| 0\.\d{4} \|/);
  assert.match(md, /By days to promotion/);
  const v = validationLoglosses(c, p);
  assert.ok(Math.abs(v.sum - (v.direct! + v.atc! + v.delayed!)) < 1e-12);
});

test('guards: a leaked label gives AUC 1.0 and is flagged; a collapsed model gives 0.5 and is flagged', () => {
  const c = evalColumns(400, 8);
  const leak = noisyPreds(c, 9, 0); // predictions are a deterministic function of the labels
  const r = evaluatePredictions(c, leak);
  assert.equal(r.tasks.atc.auc, 1);
  assert.ok(r.warnings.some((w) => /^atc: AUC 1\.0000 is suspiciously perfect/.test(w)), r.warnings.join('\n'));
  assert.match(reportMarkdown(r), /\*\*Warnings\*\*/);
  const flat: Predictions = { direct: new Float32Array(c.n).fill(0.1), atc: new Float32Array(c.n).fill(0.3), transition: new Float32Array(c.n).fill(0.5), delayed: new Float32Array(c.n).fill(0.15) };
  const rc = evaluatePredictions(c, flat);
  for (const t of ['direct', 'atc', 'transition', 'delayed'] as const) {
    assert.equal(rc.tasks[t].auc, 0.5);
    assert.ok(rc.warnings.some((w) => w.startsWith(`${t}: predictions are constant`)), t);
  }
  // a calibrated constant still has PCOC 1 and GAUC 0.5: the guard is what catches it
  assert.ok(Math.abs(rc.tasks.atc.gauc! - 0.5) < 1e-12);
});

test('tasks a model has no head for are marked as priors and not flagged as collapsed', async () => {
  const { modeledTasks } = await import('../../src/eval/modeled.js');
  assert.deepEqual(modeledTasks({ name: 'dnn', directTask: false }), ['transition', 'delayed']);
  assert.deepEqual(modeledTasks({ name: 'esmm', directTask: false }), ['atc', 'transition', 'delayed']);
  assert.deepEqual(modeledTasks({ name: 'cmdcm', directTask: true }), ['direct', 'atc', 'transition', 'delayed']);
  const c = evalColumns(300, 10);
  const p = noisyPreds(c, 11, 0.2);
  p.direct.fill(0.02);
  const r = evaluatePredictions(c, p, { modeled: ['atc', 'transition', 'delayed'] });
  assert.equal(r.tasks.direct.modeled, false);
  assert.equal(r.tasks.atc.modeled, true);
  assert.ok(!r.warnings.some((w) => w.startsWith('direct')), r.warnings.join('; '));
  assert.match(reportMarkdown(r), /\| direct \(prior only\) \|/);
  assert.ok(evaluatePredictions(c, p).warnings.some((w) => w.startsWith('direct: predictions are constant')));
});
