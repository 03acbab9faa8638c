import assert from 'node:assert/strict';
import { test } from 'node:test';
import { engineAddon } from '../../src/engine/native/addon.js';
import { nativeOptim } from '../../src/engine/native/optim.js';
import { tsOptim, type AdamHyper } from '../../src/engine/optim.js';
import { rand } from './helpers.js';

process.env.CMDCM_LOG_LEVEL = 'silent';

const addon = engineAddon();
const native = addon ? nativeOptim(addon) : undefined;
const skip = addon ? false : 'native addon not built';

/** The addon's kernels compute like the TS reference, without fused multiply-adds: equal bit for bit. */
function sameBits(a: Float32Array, b: Float32Array, what: string): void {
  assert.equal(a.length, b.length, what);
  for (let i = 0; i < a.length; i++) {
    if (!Object.is(a[i], b[i])) assert.fail(`${what}[${i}]: native ${a[i]} vs ts ${b[i]}`);
  }
}

/** A Float32Array of `n` values at `offset` elements into a SharedArrayBuffer with guard values around it. */
function sharedView(values: Float32Array, offset: number): Float32Array {
  const sab = new SharedArrayBuffer((values.length + offset + 7) * 4);
  const all = new Float32Array(sab);
  all.fill(-777);
  const v = new Float32Array(sab, offset * 4, values.length);
  v.set(values);
  return v;
}

test('adamDense: native equals the TS reference over several steps, plain and shared views', { skip }, () => {
  for (const shared of [false, true]) {
    const n = 1037;
    const mk = (seed: number, lo = -1, hi = 1) => (shared ? sharedView(rand(n, seed, lo, hi), 5) : rand(n, seed, lo, hi));
    const p1 = mk(1), m1 = mk(2, -0.1, 0.1), v1 = mk(3, 0, 0.01);
    const p2 = p1.slice(), m2 = m1.slice(), v2 = v1.slice();
    for (let step = 1; step <= 5; step++) {
      const g = rand(n, 10 + step, -2, 2);
      const h: AdamHyper = { lr: 0.01, beta1: 0.9, beta2: 0.999, eps: 1e-8, step };
      native!.adamDense(p1, g, m1, v1, h);
      tsOptim.adamDense(p2, g, m2, v2, h);
    }
    sameBits(p1, p2, `p shared=${shared}`);
    sameBits(m1, m2, `m shared=${shared}`);
    sameBits(v1, v2, `v shared=${shared}`);
    if (shared) {
      // the guard values before and after the view are untouched
      const all = new Float32Array(p1.buffer);
      assert.deepEqual([...all.subarray(0, 5)], [-777, -777, -777, -777, -777]);
      assert.equal(all[5 + n], -777);
    }
  }
});

function rowsCase(shared: boolean) {
  const rows = 300, dim = 8;
  const mk = (seed: number, lo: number, hi: number) => (shared ? sharedView(rand(rows * dim, seed, lo, hi), 3) : rand(rows * dim, seed, lo, hi));
  const touched = Int32Array.from([0, 7, 8, 150, 299]);
  const rowGrad = rand(touched.length * dim, 99, -1, 1);
  return { rows, dim, mk, touched, rowGrad };
}

function untouchedIdentical(before: Float32Array, after: Float32Array, dim: number, touched: Int32Array, what: string): void {
  const t = new Set(touched);
  const b = new Uint8Array(before.buffer, before.byteOffset, before.byteLength);
  const a = new Uint8Array(after.buffer, after.byteOffset, after.byteLength);
  for (let r = 0; r * dim < before.length; r++) {
    if (t.has(r)) continue;
    for (let k = r * dim * 4; k < (r + 1) * dim * 4; k++) assert.equal(a[k], b[k], `${what}: untouched row ${r} changed`);
  }
}

test('lazyAdamRows: native equals TS and touches only the given rows', { skip }, () => {
  for (const shared of [false, true]) {
    const { dim, mk, touched, rowGrad } = rowsCase(shared);
    const t1 = mk(1, -1, 1), m1 = mk(2, -0.1, 0.1), v1 = mk(3, 0, 0.01);
    const t0 = t1.slice(), m0 = m1.slice(), v0 = v1.slice();
    const t2 = t1.slice(), m2 = m1.slice(), v2 = v1.slice();
    for (let step = 1; step <= 3; step++) {
      const h: AdamHyper = { lr: 0.05, beta1: 0.9, beta2: 0.99, eps: 1e-7, step };
      native!.lazyAdamRows(t1, m1, v1, dim, touched, rowGrad, h);
      tsOptim.lazyAdamRows(t2, m2, v2, dim, touched, rowGrad, h);
    }
    sameBits(t1, t2, 'table');
    sameBits(m1, m2, 'm');
    sameBits(v1, v2, 'v');
    untouchedIdentical(t0, t1, dim, touched, 'table');
    untouchedIdentical(m0, m1, dim, touched, 'm');
    untouchedIdentical(v0, v1, dim, touched, 'v');
    assert.notDeepEqual([...t1.subarray(7 * dim, 8 * dim)], [...t0.subarray(7 * dim, 8 * dim)], 'touched row moved');
  }
});

test('adagradRows: native equals TS and touches only the given rows', { skip }, () => {
  for (const shared of [false, true]) {
    const { dim, mk, touched, rowGrad } = rowsCase(shared);
    const t1 = mk(4, -1, 1), a1 = mk(5, 0, 0.5);
    const t0 = t1.slice(), a0 = a1.slice();
    const t2 = t1.slice(), a2 = a1.slice();
    for (let step = 0; step < 3; step++) {
      native!.adagradRows(t1, a1, dim, touched, rowGrad, { lr: 0.1, eps: 1e-8 });
      tsOptim.adagradRows(t2, a2, dim, touched, rowGrad, { lr: 0.1, eps: 1e-8 });
    }
    sameBits(t1, t2, 'table');
    sameBits(a1, a2, 'acc');
    untouchedIdentical(t0, t1, dim, touched, 'table');
    untouchedIdentical(a0, a1, dim, touched, 'acc');
  }
});

test('row kernels refuse rows outside the table and short gradients', { skip }, () => {
  const t = new Float32Array(16), m = new Float32Array(16), v = new Float32Array(16);
  const h: AdamHyper = { lr: 0.1, beta1: 0.9, beta2: 0.999, eps: 1e-8, step: 1 };
  assert.throws(() => native!.lazyAdamRows(t, m, v, 4, Int32Array.of(4), new Float32Array(4), h), /row 4 outside the table's 4 rows/);
  assert.throws(() => native!.adagradRows(t, m, 4, Int32Array.of(1, 2), new Float32Array(4), { lr: 0.1, eps: 1e-8 }), /rowGrad has 4 values/);
  assert.deepEqual([...t], new Array(16).fill(0));
});
