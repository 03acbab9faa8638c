import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { gatherColumns } from '../../src/data/batch.js';
import { createModel, gatherBatchRows, initTable, scatterAddRows, uniqueRows, MODEL_NAMES } from '../../src/model/index.js';
import { cpuBackend, syntheticBatch, tinyConfig, tinySchema } from './fixtures.js';

before(cpuBackend);

const schema = tinySchema(4);
const batch = syntheticBatch(schema, 10, 17);

/** The batch's non-padding ids, computed independently of the model code. */
function idsOf(b: typeof batch): number[] {
  const s = new Set<number>();
  for (const v of b.fields) if (v !== 0) s.add(v);
  for (const v of b.seq) if (v !== 0) s.add(v);
  return [...s].sort((a, b) => a - b);
}

test('uniqueRows: unique ascending, padding excluded, out-of-range ids refused', () => {
  const u = uniqueRows([Int32Array.from([5, 0, 3, 5, 9]), Int32Array.from([3, 1, 0])], 10);
  assert.deepEqual(Array.from(u), [1, 3, 5, 9]);
  assert.throws(() => uniqueRows([Int32Array.from([10])], 10), /outside the table/);
  assert.throws(() => uniqueRows([Int32Array.from([-1])], 10), /outside the table/);
});

test('gatherBatchRows: local indices point at the right copied rows; padding maps to 0', () => {
  const dim = 3;
  const table = Float32Array.from({ length: 12 * dim }, (_, i) => i);
  const ids = Int32Array.from([7, 0, 2, 7, 11]);
  const g = gatherBatchRows(table, dim, [ids]);
  assert.deepEqual(Array.from(g.rows), [2, 7, 11]);
  assert.deepEqual(Array.from(g.local[0]), [2, 0, 1, 2, 3]);
  for (let i = 0; i < ids.length; i++) {
    if (ids[i] === 0) continue;
    const r = g.local[0][i] - 1;
    assert.deepEqual(Array.from(g.values.subarray(r * dim, r * dim + dim)), [ids[i] * dim, ids[i] * dim + 1, ids[i] * dim + 2]);
  }
});

test('gatherBatchRows on many colliding ids agrees with a Set/sort oracle', () => {
  const dim = 2, tableRows = 1 << 20;
  const table = new Float32Array(tableRows * dim);
  for (let i = 0; i < table.length; i++) table[i] = i;
  let seed = 12345;
  const next = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0);
  // Multiples of 2^12 collide under a multiplicative hash's low bits; padding zeros mixed in.
  const a = Int32Array.from({ length: 30000 }, (_, i) => (i % 7 === 0 ? 0 : (next() % 256) << 12));
  const b = Int32Array.from({ length: 20000 }, () => next() % tableRows);
  const g = gatherBatchRows(table, dim, [a, b]);
  const want = [...new Set([...a, ...b].filter((x) => x !== 0))].sort((x, y) => x - y);
  assert.deepEqual(Array.from(g.rows), want);
  [a, b].forEach((ids, k) => {
    for (let i = 0; i < ids.length; i++) {
      const l = g.local[k][i];
      assert.equal(l === 0 ? 0 : g.rows[l - 1], ids[i]);
      if (l > 0) assert.equal(g.values[(l - 1) * dim], ids[i] * dim);
    }
  });
});

test('initTable: padding row zero, seeded', () => {
  const a = initTable(20, 4, 9), b = initTable(20, 4, 9), c = initTable(20, 4, 10);
  assert.deepEqual(Array.from(a.subarray(0, 4)), [0, 0, 0, 0]);
  assert.deepEqual(a, b);
  assert.notDeepEqual(a, c);
});

for (const name of MODEL_NAMES) {
  test(`${name}: grad touches exactly the batch's rows (unique, ascending), and only those`, () => {
    const m = createModel(tinyConfig(name), schema);
    const table = initTable(schema.tableRows, m.dim, 4, 0.3);
    const g = m.grad(m.initParams(2), table, batch);
    assert.deepEqual(Array.from(g.rows), idsOf(batch));
    assert.equal(g.rowGrad.length, g.rows.length * m.dim);
    assert.equal(g.denseGrad.length, m.layout.total);
    // Every touched row has some gradient (else "touched" would be a lie or the gather is broken).
    const D = m.dim;
    const dead = [];
    for (let r = 0; r < g.rows.length; r++) if (g.rowGrad.subarray(r * D, r * D + D).every((x) => x === 0)) dead.push(g.rows[r]);
    assert.ok(dead.length <= g.rows.length / 4, `rows without gradient: ${dead}`);
  });
}

test('lossScale: two half-batches at lossScale 0.5 sum to the full-batch gradient', () => {
  for (const name of ['cmdcm', 'escm2-dr', 'mmoe'] as const) {
    const m = createModel(tinyConfig(name), schema);
    const params = m.initParams(8);
    const table = initTable(schema.tableRows, m.dim, 6, 0.3);
    const idx = Array.from({ length: batch.n }, (_, i) => i);
    const a = gatherColumns(schema, batch, idx.slice(0, 5));
    const b = gatherColumns(schema, batch, idx.slice(5));
    const full = m.grad(params, table, batch, 1);
    const ga = m.grad(params, table, a, 0.5);
    const gb = m.grad(params, table, b, 0.5);
    const close = (x: number, y: number, scale: number) => Math.abs(x - y) <= 1e-5 * scale + 1e-7;
    assert.ok(close(ga.loss + gb.loss, full.loss, full.loss), `loss ${ga.loss} + ${gb.loss} vs ${full.loss}`);
    for (const t of Object.keys(full.terms)) assert.ok(close(ga.terms[t] + gb.terms[t], full.terms[t], full.loss), `term ${t}`);
    const dScale = full.denseGrad.reduce((s, x) => Math.max(s, Math.abs(x)), 0);
    for (let i = 0; i < full.denseGrad.length; i++) {
      assert.ok(close(ga.denseGrad[i] + gb.denseGrad[i], full.denseGrad[i], dScale), `${name} dense[${i}]: ${ga.denseGrad[i] + gb.denseGrad[i]} vs ${full.denseGrad[i]}`);
    }
    const sum = new Float32Array(table.length), ref = new Float32Array(table.length);
    scatterAddRows(sum, m.dim, ga.rows, ga.rowGrad);
    scatterAddRows(sum, m.dim, gb.rows, gb.rowGrad);
    scatterAddRows(ref, m.dim, full.rows, full.rowGrad);
    const rScale = ref.reduce((s, x) => Math.max(s, Math.abs(x)), 0);
    for (let i = 0; i < ref.length; i++) assert.ok(close(sum[i], ref[i], rScale), `${name} table[${i}]`);
    // lossScale is linear: doubling it doubles every gradient.
    const twice = m.grad(params, table, batch, 2);
    for (let i = 0; i < full.denseGrad.length; i += 7) assert.ok(close(twice.denseGrad[i], 2 * full.denseGrad[i], dScale));
  }
});

test('grad and predict are pure: repeated calls agree, inputs untouched, no tensor leak', async () => {
  const tf = await import('@tensorflow/tfjs-core');
  const m = createModel(tinyConfig('cmdcm'), schema);
  const params = m.initParams(1);
  const table = initTable(schema.tableRows, m.dim, 2);
  const p0 = params.slice(), t0 = table.slice();
  const before = tf.memory().numTensors;
  const g1 = m.grad(params, table, batch);
  const g2 = m.grad(params, table, batch);
  m.predict(params, table, batch);
  assert.equal(tf.memory().numTensors, before);
  assert.deepEqual(g1, g2);
  assert.deepEqual(params, p0);
  assert.deepEqual(table, t0);
});

test('a model reuses its index buffers across batches of other sizes without mixing them up', () => {
  const m = createModel(tinyConfig('cmdcm'), schema), fresh = createModel(tinyConfig('cmdcm'), schema);
  const params = m.initParams(3), table = initTable(schema.tableRows, m.dim, 4);
  const big = syntheticBatch(schema, 37, 5), small = syntheticBatch(schema, 4, 6);
  const want = [batch, big, small].map((b) => fresh.grad(params, table, b));
  // grows the buffers, shrinks the views, then back: each result as from a model that saw only that batch
  for (const [k, b] of [[0, batch], [1, big], [2, small], [0, batch], [1, big]] as const) {
    assert.deepEqual(m.grad(params, table, b), want[k], `batch ${k}`);
  }
  const p = m.predict(params, table, small);
  assert.deepEqual(p, createModel(tinyConfig('cmdcm'), schema).predict(params, table, small));
});

test('an empty (micro-)batch contributes nothing and does not throw', () => {
  const m = createModel(tinyConfig('escm2-dr'), schema);
  const empty = gatherColumns(schema, batch, []);
  const g = m.grad(m.initParams(1), initTable(schema.tableRows, m.dim, 1), empty, 0);
  assert.equal(g.loss, 0);
  assert.equal(g.rows.length, 0);
  assert.ok(g.denseGrad.every((x) => x === 0) && g.denseGrad.length === m.layout.total);
  assert.deepEqual(Object.keys(g.terms), m.termNames);
  assert.equal(m.predict(m.initParams(1), initTable(schema.tableRows, m.dim, 1), empty).delayed.length, 0);
});

test('grad into offered buffers: same values, results are the buffers (or fresh arrays when a buffer is too small)', async () => {
  const m = createModel(tinyConfig('cmdcm'), schema);
  const table = initTable(schema.tableRows, m.dim, 4, 0.3);
  const params = m.initParams(2);
  const plain = m.grad(params, table, batch);
  const dense = new Float32Array(m.layout.total).fill(NaN), rowGrad = new Float32Array(plain.rowGrad.length + 5).fill(NaN);
  const g = m.grad(params, table, batch, 1, { dense, rowGrad });
  assert.equal(g.denseGrad, dense);
  assert.equal(g.rowGrad.buffer, rowGrad.buffer);
  assert.deepEqual(g.denseGrad, plain.denseGrad);
  assert.deepEqual(g.rowGrad, plain.rowGrad);
  const small = m.grad(params, table, batch, 1, { rowGrad: new Float32Array(1) });
  assert.equal(small.rowGrad.length, plain.rowGrad.length);
  assert.deepEqual(small.rowGrad, plain.rowGrad);
  assert.throws(() => m.grad(params, table, batch, 1, { dense: new Float32Array(3) }), /dense gradient buffer has 3 values/);
});
