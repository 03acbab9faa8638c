import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../src/util/rng.js';
import { tsOptim, type AdamHyper } from '../../src/engine/optim.js';
import { nativeReduceKernels, tsReduceKernels, type RowState } from '../../src/parallel/reduce-kernels.js';
import { ownedSlice } from '../../src/parallel/reduce.js';
import { firstNonFinite } from '../../src/train/step.js';

// The addon's fused reduce against the TypeScript one (reduce.ts + the TS optimizer kernels): the
// same bits on every parameter, moment and table row, for every worker of W = 1, 2, 3.

const native = nativeReduceKernels();
const skip = native ? false : 'the native addon is not built';
const H: AdamHyper = { lr: 0.01, beta1: 0.9, beta2: 0.999, eps: 1e-8, step: 3 };

function randomF32(r: Rng, n: number, scale = 1): Float32Array {
  return Float32Array.from({ length: n }, () => r.normal() * scale);
}

function assertSameBits(a: Float32Array, b: Float32Array, what: string): void {
  assert.equal(a.length, b.length, what);
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) assert.fail(`${what}[${i}]: ${a[i]} vs ${b[i]}`);
}

test('reduce: dense slices, native = TypeScript bit for bit', { skip }, () => {
  const r = new Rng(11);
  for (const W of [1, 2, 3]) {
    const P = 5000 + 37 * W; // slices cross the addon's 2048-value blocks
    const grads = randomF32(r, W * P);
    const p0 = randomF32(r, P), m0 = randomF32(r, P, 0.1), v0 = Float32Array.from(randomF32(r, P), (x) => x * x);
    const ts = { p: p0.slice(), m: m0.slice(), v: v0.slice() }, nat = { p: p0.slice(), m: m0.slice(), v: v0.slice() };
    const tsK = tsReduceKernels(tsOptim);
    for (let w = 0; w < W; w++) {
      const [lo, hi] = ownedSlice(P, W, w);
      tsK.denseAdam(grads, P, W, lo, hi, ts.p, ts.m, ts.v, H);
      native!.denseAdam(grads, P, W, lo, hi, nat.p, nat.m, nat.v, H);
    }
    assertSameBits(nat.p, ts.p, `W=${W} params`);
    assertSameBits(nat.m, ts.m, `W=${W} m`);
    assertSameBits(nat.v, ts.v, `W=${W} v`);
    assert.ok(ts.p.some((x, i) => x !== p0[i]), 'the update moved the parameters');
  }
});

/** W workers' published rows (ascending, unique, overlapping) and their gradients. */
function published(r: Rng, W: number, cap: number, dim: number, tableRows: number) {
  const counts = new Int32Array(W), rowIdx = new Int32Array(W * cap), rowGrad = new Float32Array(W * cap * dim);
  for (let u = 0; u < W; u++) {
    const rows = [...new Set(Array.from({ length: cap }, () => r.int(tableRows)))].sort((a, b) => a - b).slice(0, cap - r.int(5));
    counts[u] = rows.length;
    rowIdx.set(rows, u * cap);
    rowGrad.set(randomF32(r, rows.length * dim), u * cap * dim);
  }
  return { counts, rowIdx, rowGrad };
}

for (const opt of ['lazyAdam', 'adagrad'] as const) {
  test(`reduce: owned rows with ${opt}, native = TypeScript bit for bit, every touched row applied once`, { skip }, () => {
    const r = new Rng(opt === 'lazyAdam' ? 12 : 13);
    const T = 300, D = 8;
    for (const W of [1, 2, 3]) {
      const cap = 120;
      const { counts, rowIdx, rowGrad } = published(r, W, cap, D, T);
      const init = (): RowState => ({
        table: Float32Array.from(randomF32(new Rng(5), T * D)),
        m: Float32Array.from(randomF32(new Rng(6), T * D), (x) => (opt === 'adagrad' ? x * x : x * 0.1)),
        v: opt === 'lazyAdam' ? Float32Array.from(randomF32(new Rng(7), T * D), (x) => x * x) : new Float32Array(0),
      });
      const ts = init(), nat = init(), before = init();
      const tsK = tsReduceKernels(tsOptim);
      let nTs = 0, nNat = 0;
      for (let w = 0; w < W; w++) {
        nTs += tsK.ownedRows(W, w, counts, rowIdx, rowGrad, cap, D, ts, opt, H);
        nNat += native!.ownedRows(W, w, counts, rowIdx, rowGrad, cap, D, nat, opt, H);
      }
      const touched = new Set<number>();
      for (let u = 0; u < W; u++) for (let k = 0; k < counts[u]; k++) touched.add(rowIdx[u * cap + k]);
      assert.equal(nTs, touched.size);
      assert.equal(nNat, touched.size);
      assertSameBits(nat.table, ts.table, `W=${W} table`);
      assertSameBits(nat.m, ts.m, `W=${W} m`);
      assertSameBits(nat.v, ts.v, `W=${W} v`);
      // untouched rows keep their values, touched ones moved
      for (let row = 0; row < T; row++) {
        const moved = nat.table.subarray(row * D, (row + 1) * D).some((x, j) => x !== before.table[row * D + j]);
        assert.equal(moved, touched.has(row), `row ${row}`);
      }
    }
  });
}

test('reduce: the addon names what is wrong with its arguments', { skip }, () => {
  const r = new Rng(14);
  const W = 2, cap = 10, D = 4, T = 50;
  const { counts, rowIdx, rowGrad } = published(r, W, cap, D, T);
  const s: RowState = { table: new Float32Array(T * D), m: new Float32Array(T * D), v: new Float32Array(T * D) };
  assert.throws(() => native!.ownedRows(W, 0, counts, rowIdx, rowGrad, cap, D, { ...s, table: new Float32Array(10 * D) }, 'lazyAdam', H), /row \d+ outside the table's 10 rows/);
  const unsorted = rowIdx.slice();
  [unsorted[0], unsorted[1]] = [unsorted[1], unsorted[0]];
  assert.throws(() => native!.ownedRows(W, 0, counts, unsorted, rowGrad, cap, D, s, 'lazyAdam', H), /worker 0's rows are not ascending/);
  assert.throws(() => native!.ownedRows(W, 0, Int32Array.of(cap + 1, 0), rowIdx, rowGrad, cap, D, s, 'lazyAdam', H), /published 11 rows, the capacity is 10/);
  assert.throws(() => native!.ownedRows(W, 2, counts, rowIdx, rowGrad, cap, D, s, 'lazyAdam', H), /worker 2 of 2/);
  assert.throws(() => native!.ownedRows(W, 0, counts, rowIdx, rowGrad, cap, D, s, 'adam' as never, H), /optimizer must be 'lazyAdam' or 'adagrad'/);
  assert.throws(() => native!.ownedRows(W, 0, counts, rowIdx, rowGrad, cap, D, { ...s, v: new Float32Array(0) }, 'lazyAdam', H), /row \d+ outside the table's 0 rows/);
  const P = 64;
  assert.throws(() => native!.denseAdam(new Float32Array(W * P - 1), P, W, 0, 32, new Float32Array(P), new Float32Array(P), new Float32Array(P), H), /grads holds 127 values/);
  assert.throws(() => native!.denseAdam(new Float32Array(W * P), P, W, 32, 65, new Float32Array(P), new Float32Array(P), new Float32Array(P), H), /slice \[32, 65\) outside the 64 parameters/);
});

test('firstNonFinite finds the first NaN or ±Inf at any position (TS and addon, against Number.isFinite)', () => {
  const impls: [string, (a: Float32Array) => number][] = [['ts', firstNonFinite], ...(native ? [['native', native.firstNonFinite] as [string, (a: Float32Array) => number]] : [])];
  const rng = new Rng(7);
  for (const n of [0, 1, 2, 17, 1023, 1024, 1025, 5000]) {
    const a = Float32Array.from({ length: n }, () => (rng.next() - 0.5) * 1e30);
    for (const [name, f] of impls) assert.equal(f(a), -1, `${name}: all finite, n=${n}`);
    for (const bad of [NaN, Infinity, -Infinity]) {
      for (const at of n ? [0, n >> 1, n - 1] : []) {
        const b = a.slice();
        b[at] = bad;
        if (at + 1 < n) b[n - 1] = NaN; // a later one must not be reported first
        const want = b.findIndex((x) => !Number.isFinite(x));
        for (const [name, f] of impls) assert.equal(f(b), want, `${name}: ${bad} at ${at} of ${n}`);
      }
    }
  }
  // huge finite values must not overflow the check into a false alarm
  for (const [name, f] of impls) assert.equal(f(Float32Array.from([3.4e38, 3.4e38, -3.4e38, -0])), -1, name);
});
