import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../src/util/rng.js';
import { combineOwnedRows, microRange, ownedSlice, rowOwner, sumSlice } from '../../src/parallel/reduce.js';
import { computeLayout, viewsOf, writeBatch, sliceBatch, CTRL_WORDS } from '../../src/parallel/layout.js';
import { gatherColumns } from '../../src/data/batch.js';
import { randomSamples, smallSchema } from './helpers.js';

test('micro-batches partition the global batch into contiguous, near-equal ranges', () => {
  for (const n of [0, 1, 5, 16, 33]) {
    for (const W of [1, 2, 3, 7]) {
      let at = 0;
      for (let w = 0; w < W; w++) {
        const [lo, hi] = microRange(n, W, w);
        assert.equal(lo, at);
        assert.ok(hi - lo === Math.floor(n / W) || hi - lo === Math.ceil(n / W));
        at = hi;
      }
      assert.equal(at, n);
    }
  }
});

test('owned dense slices partition [0, P) on cache-line boundaries', () => {
  for (const P of [1, 15, 16, 100, 1000, 12345]) {
    for (const W of [1, 2, 3, 5]) {
      let at = 0;
      for (let w = 0; w < W; w++) {
        const [lo, hi] = ownedSlice(P, W, w);
        assert.equal(lo, at);
        assert.ok(hi >= lo);
        if (hi < P) assert.equal(hi % 16, 0);
        at = hi;
      }
      assert.equal(at, P);
    }
  }
});

test('sumSlice adds every worker\'s slice (against a naive sum)', () => {
  const r = new Rng(1);
  const W = 3, P = 50;
  const grads = Float32Array.from({ length: W * P }, () => r.normal());
  const out = new Float32Array(20);
  sumSlice(grads, P, W, 17, 37, out);
  for (let i = 0; i < 20; i++) assert.equal(out[i], Math.fround(Math.fround(grads[17 + i] + grads[P + 17 + i]) + grads[2 * P + 17 + i]));
});

test('combineOwnedRows: each touched row is summed once, by its owner, over all workers', () => {
  const r = new Rng(2);
  const W = 3, cap = 30, D = 4, R = 60;
  const counts = new Int32Array(W), rowIdx = new Int32Array(W * cap), rowGrad = new Float32Array(W * cap * D);
  const oracle = new Map<number, number[]>();
  for (let u = 0; u < W; u++) {
    const rows = [...new Set(Array.from({ length: 5 + r.int(cap - 5) }, () => r.int(R)))].sort((a, b) => a - b);
    counts[u] = rows.length;
    rows.forEach((row, k) => {
      rowIdx[u * cap + k] = row;
      const acc = oracle.get(row) ?? new Array(D).fill(0);
      for (let j = 0; j < D; j++) {
        const g = r.normal();
        rowGrad[(u * cap + k) * D + j] = g;
        acc[j] += g;
      }
      oracle.set(row, acc);
    });
  }
  const seen = new Set<number>();
  for (let w = 0; w < W; w++) {
    const outRows = new Int32Array(W * cap), outGrad = new Float32Array(W * cap * D);
    const n = combineOwnedRows(W, w, counts, rowIdx, rowGrad, cap, D, outRows, outGrad);
    for (let k = 0; k < n; k++) {
      const row = outRows[k];
      if (k > 0) assert.ok(row > outRows[k - 1], 'ascending');
      assert.equal(rowOwner(row, W), w);
      assert.ok(!seen.has(row));
      seen.add(row);
      const want = oracle.get(row)!;
      for (let j = 0; j < D; j++) assert.ok(Math.abs(outGrad[k * D + j] - want[j]) < 1e-5);
    }
  }
  assert.deepEqual([...seen].sort((a, b) => a - b), [...oracle.keys()].sort((a, b) => a - b));
});

test('layout: sections do not overlap and batch views round-trip a batch', () => {
  const schema = smallSchema();
  const L = computeLayout({ workers: 3, paramCount: 101, tableRows: schema.tableRows, dim: 8, tableOptimizer: 'lazyAdam', batchCap: 10, schema });
  const spans = Object.entries(L.off).map(([k, o]) => [k, o] as const).sort((a, b) => a[1] - b[1]);
  assert.equal(L.off.ctrl, 0);
  assert.ok(L.off.params >= CTRL_WORDS * 4);
  for (const [, o] of spans) assert.equal(o % 64, 0);
  const V = viewsOf(new SharedArrayBuffer(L.bytes), L);
  const all = [V.ctrl, V.params, V.m, V.v, V.grads, V.table, V.tableM, V.tableV, V.rowCount, V.rowIdx, V.rowGrad, ...Object.values(V.batch).filter((x) => typeof x !== 'number')] as (Int32Array | Float32Array)[];
  const ranges = all.map((a) => [a.byteOffset, a.byteOffset + a.byteLength]).sort((a, b) => a[0] - b[0]);
  for (let i = 1; i < ranges.length; i++) assert.ok(ranges[i][0] >= ranges[i - 1][1], 'no overlap');
  assert.ok(ranges.at(-1)![1] <= L.bytes);
  const data = randomSamples(schema, 20, 4);
  const b = gatherColumns(schema, data, [3, 1, 4, 1, 5, 9, 2]);
  writeBatch(V.batch, b, L);
  const part = sliceBatch(V.batch, 2, 5, L.widths);
  const want = gatherColumns(schema, data, [4, 1, 5]);
  assert.equal(part.n, 3);
  assert.deepEqual([...part.fields], [...want.fields]);
  assert.deepEqual([...part.dense], [...want.dense]);
  assert.deepEqual([...part.mask], [...want.mask]);
  assert.throws(() => writeBatch(V.batch, gatherColumns(schema, data, Array.from({ length: 11 }, (_, i) => i)), L), /exceeds the shared batch capacity 10/);
});
