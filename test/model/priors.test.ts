import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { baseRates, createModel, fitDenseStats, fullyLabelledRows, initTable, rateLogit, standardizeInPlace } from '../../src/model/index.js';
import { CmdcmError } from '../../src/util/errors.js';
import { cpuBackend, syntheticBatch, tinyConfig, tinySchema } from './fixtures.js';

before(cpuBackend);
const schema = tinySchema();

test('baseRates: masked means; transition / non-cart split the delayed label by atc', () => {
  // rows: labels (direct, atc, delayed), masks
  const rows: [number[], number[]][] = [
    [[1, 1, 1], [1, 1, 1]],
    [[0, 1, 0], [1, 1, 1]],
    [[0, 1, 1], [1, 1, 0]], // delayed masked: counts for atc only
    [[0, 0, 1], [1, 1, 1]],
    [[0, 0, 0], [1, 1, 1]],
    [[0, 0, 0], [1, 1, 1]],
    [[1, 0, 1], [0, 0, 1]], // atc masked: delayed mean only
  ];
  const labels = new Float32Array(rows.flatMap((r) => r[0]));
  const mask = new Float32Array(rows.flatMap((r) => r[1]));
  const r = baseRates({ n: rows.length, labels, mask });
  assert.equal(r.direct, 1 / 6);
  assert.equal(r.atc, 3 / 6);
  assert.equal(r.delayed, 3 / 6);
  assert.equal(r.transition, 1 / 2);
  assert.equal(r.noncart, 1 / 3);
  assert.ok(Number.isNaN(baseRates({ n: 1, labels: new Float32Array(3), mask: new Float32Array(3) }).atc));
});

test('initParams with base rates: output biases at the rates\' logits, every other value as without', () => {
  const m = createModel({ ...tinyConfig('cmdcm'), nonCartPath: true }, schema);
  const rates = { direct: 0.012, atc: 0.06, delayed: 0.02, transition: 0.11, noncart: 0.009 };
  const plain = m.initParams(4), primed = m.initParams(4, rates);
  const expect: Record<string, number> = {
    'tower/direct/out/b': Math.log(0.012 / 0.988),
    'tower/atc/out/b': Math.log(0.06 / 0.94),
    'tower/transition/out/b': Math.log(0.11 / 0.89),
    'tower/noncart/out/b': Math.log(0.009 / 0.991),
  };
  const seen = new Set<number>();
  m.layout.specs.forEach((s, i) => {
    if (!(s.name in expect)) return;
    const off = m.layout.offsets[i];
    assert.ok(Math.abs(primed[off] - expect[s.name]) < 1e-6, `${s.name}: ${primed[off]}`);
    seen.add(off);
  });
  assert.equal(seen.size, 4);
  for (let j = 0; j < plain.length; j++) if (!seen.has(j)) assert.equal(primed[j], plain[j]);
  // the predictions start at the base rates (up to what the random hidden layers add)
  const batch = syntheticBatch(schema, 64, 2);
  const pr = m.predict(primed, initTable(schema.tableRows, m.dim, 3, 0.05), batch);
  const mean = (a: Float32Array) => a.reduce((x, y) => x + y, 0) / a.length;
  assert.ok(Math.abs(mean(pr.atc) - 0.06) < 0.05, `p_atc mean ${mean(pr.atc)}`);
  assert.ok(mean(pr.delayed) < 0.2, `p_delayed mean ${mean(pr.delayed)}`);
  // a rate of 0 (no positives) starts finite
  assert.ok(Number.isFinite(rateLogit(0)) && rateLogit(0) < -9);
  const dnn = createModel(tinyConfig('dnn'), schema);
  const off = dnn.layout.offsets[dnn.layout.specs.findIndex((s) => s.name === 'tower/delayed/out/b')];
  assert.ok(Math.abs(dnn.initParams(1, rates)[off] - Math.log(0.02 / 0.98)) < 1e-6);
});

test('fitDenseStats / standardizeInPlace: train columns become mean 0, std 1; a constant column maps to 0 everywhere', () => {
  const n = 50, S = 3;
  const x = new Float32Array(n * S);
  for (let i = 0; i < n; i++) {
    x[i * S] = i;
    x[i * S + 1] = 0; // e.g. historical stats of the first promotion's samples
    x[i * S + 2] = 1000 + (i % 2);
  }
  const st = fitDenseStats(x, S, 'none');
  assert.equal(st.std[1], 0);
  assert.ok(Math.abs(st.mean[0] - 24.5) < 1e-9 && Math.abs(st.std[2] - 0.5) < 1e-9);
  const z = standardizeInPlace(x.slice(), S, st);
  for (const j of [0, 2]) {
    let m = 0, v = 0;
    for (let i = 0; i < n; i++) m += z[i * S + j] / n;
    for (let i = 0; i < n; i++) v += (z[i * S + j] - m) ** 2 / n;
    assert.ok(Math.abs(m) < 1e-5 && Math.abs(v - 1) < 1e-4, `col ${j}: mean ${m}, var ${v}`);
  }
  // at test time the constant column is non-zero: it must not reach the network
  const test1 = new Float32Array([3, 7.5, 1001]);
  standardizeInPlace(test1, S, st);
  assert.equal(test1[1], 0);
  // 'log1p' statistics are those of the transformed values
  assert.ok(Math.abs(fitDenseStats(new Float32Array([0, Math.E - 1]), 1, 'log1p').mean[0] - 0.5) < 1e-6);
});

test('the model applies the stored statistics: a zero-variance column does not change the predictions; a stats/schema mismatch is an error', () => {
  const stats = { mean: [1.5, 0.1], std: [0.8, 0] };
  const m = createModel(tinyConfig('cmdcm', { denseStats: stats }), schema);
  const p = m.initParams(6);
  const table = initTable(schema.tableRows, m.dim, 7, 0.5);
  const batch = syntheticBatch(schema, 16, 5);
  const moved = { ...batch, dense: batch.dense.slice() };
  for (let i = 0; i < batch.n; i++) moved.dense[i * 2 + 1] += 5;
  assert.deepEqual(m.predict(p, table, moved), m.predict(p, table, batch));
  // without the statistics the same shift does change them (the check above can fail)
  const raw = createModel(tinyConfig('cmdcm', { standardizeDense: false, denseStats: stats }), schema);
  assert.notDeepEqual(raw.predict(p, table, moved).atc, raw.predict(p, table, batch).atc);
  assert.throws(() => createModel(tinyConfig('cmdcm', { denseStats: { mean: [0], std: [1] } }), schema), (e: unknown) => e instanceof CmdcmError && /denseStats has 1 columns, the schema has 2/.test((e as Error).message));
});

test('statistics fit on the fully labelled rows: a column constant there maps to 0 though it varies elsewhere', () => {
  // rows 0-2 all labels; rows 3-4 delayed masked (the target window), with history (column 1 ≠ 0)
  const mask = new Float32Array([1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 1, 0]);
  const inc = fullyLabelledRows({ n: 5, mask });
  assert.deepEqual(Array.from(inc!), [1, 1, 1, 0, 0]);
  const x = new Float32Array([1, 0, 2, 0, 3, 0, 10, 4, 20, 6]);
  const st = fitDenseStats(x, 2, 'none', inc);
  assert.equal(st.mean[0], 2);
  assert.ok(Math.abs(st.std[0] - Math.sqrt(2 / 3)) < 1e-12);
  assert.equal(st.std[1], 0);
  const z = standardizeInPlace(x.slice(), 2, st);
  for (let i = 0; i < 5; i++) assert.equal(z[i * 2 + 1], 0);
  // fit on every row instead, the column is a constant ≠ 0 on the labelled rows: what this avoids
  const everyRow = standardizeInPlace(x.slice(), 2, fitDenseStats(x, 2, 'none'));
  assert.ok(everyRow[1] < -0.5 && everyRow[1] === everyRow[3]);
  assert.equal(fullyLabelledRows({ n: 1, mask: new Float32Array([1, 1, 0]) }), null);
});
