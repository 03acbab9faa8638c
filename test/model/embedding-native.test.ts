import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadAddon } from '../../src/native.js';
import { gatherBatchRows, gatherBatchRowsTs } from '../../src/model/embedding.js';

// The addon kernel (native/model/embedding.cc) against the TypeScript implementation, which rows.test.ts
// checks against a Set/sort oracle. Skipped, not passed, where the addon is not built.
const addon = loadAddon();
const kernel = addon?.embeddingGatherRows as ((t: Float32Array, d: number, ids: Int32Array[], alloc?: (n: number) => Float32Array, padRow?: boolean, localOut?: Int32Array[]) => ReturnType<typeof gatherBatchRowsTs>) | undefined;
const skip = kernel ? false : 'native addon not built';

function lcg(seed: number): () => number {
  return () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0);
}

function assertSame(a: ReturnType<typeof gatherBatchRowsTs>, b: ReturnType<typeof gatherBatchRowsTs>): void {
  assert.ok(a.rows instanceof Int32Array && a.values instanceof Float32Array);
  assert.deepEqual(a.rows, b.rows);
  assert.deepEqual(a.values, b.values);
  assert.equal(a.local.length, b.local.length);
  a.local.forEach((l, k) => {
    assert.ok(l instanceof Int32Array);
    assert.deepEqual(l, b.local[k]);
  });
}

test('native gather == TS gather on random batches of several shapes and table sizes', { skip }, () => {
  const next = lcg(99);
  for (const [tableRows, dim] of [[1, 1], [2, 3], [63, 2], [64, 4], [65, 1], [1000, 16], [1 << 20, 4]] as const) {
    const table = Float32Array.from({ length: tableRows * dim }, (_, i) => i * 0.5 - 7);
    // Skewed ids with padding, plus an empty array, and ids at the table's last row and word edges.
    const a = Int32Array.from({ length: 5000 }, (_, i) => (i % 5 === 0 ? 0 : next() % Math.max(1, tableRows >> (next() % 8))));
    const b = Int32Array.from([tableRows - 1, 0, Math.min(63, tableRows - 1), Math.min(64, tableRows - 1)]);
    const ids = [a, new Int32Array(0), b];
    assertSame(kernel!(table, dim, ids), gatherBatchRowsTs(table, dim, ids));
  }
});

test('alloc and padRow: the values land in the supplied array behind one zero row, natively and in TS', { skip }, () => {
  const next = lcg(7);
  const dim = 3, table = Float32Array.from({ length: 200 * dim }, (_, i) => 1 + i);
  const ids = [Int32Array.from({ length: 300 }, (_, i) => (i % 7 === 0 ? 0 : next() % 200))];
  const plain = gatherBatchRowsTs(table, dim, ids);
  for (const impl of ['native', 'ts'] as const) {
    const asked: number[] = [];
    // stale contents, as a recycled array would have
    const alloc = (n: number) => { asked.push(n); return new Float32Array(n).fill(NaN); };
    const g = impl === 'native' ? gatherBatchRows(table, dim, ids, { alloc, padRow: true }) : gatherBatchRowsTs(table, dim, ids, { alloc, padRow: true });
    assert.deepEqual(asked, [(plain.rows.length + 1) * dim], impl);
    assert.deepEqual(Array.from(g.values.subarray(0, dim)), [0, 0, 0], impl);
    assert.deepEqual(g.values.subarray(dim), plain.values, impl);
    assert.deepEqual(g.local, plain.local, impl);
  }
  assert.throws(() => kernel!(table, dim, ids, ((n: number) => new Float32Array(n + 1)) as never), /alloc\(n\) must return a Float32Array of n elements/);
});

test('localOut: local lands in the caller\'s arrays (stale contents overwritten, padding included), natively and in TS', { skip }, () => {
  const next = lcg(11);
  const dim = 2, table = Float32Array.from({ length: 500 * dim }, (_, i) => i);
  const ids = [Int32Array.from({ length: 257 }, (_, i) => (i % 3 === 0 ? 0 : next() % 500)), Int32Array.from([0, 499, 7])];
  const plain = gatherBatchRowsTs(table, dim, ids);
  for (const impl of ['native', 'ts'] as const) {
    // views into larger reused buffers with stale values, as the model passes them
    const bufs = [new Int32Array(400).fill(-9), new Int32Array(10).fill(-9)];
    const localOut = [bufs[0].subarray(0, 257), bufs[1].subarray(0, 3)];
    const g = impl === 'native' ? gatherBatchRows(table, dim, ids, { localOut }) : gatherBatchRowsTs(table, dim, ids, { localOut });
    assert.equal(g.local[0], localOut[0], impl);
    assert.equal(g.local[1], localOut[1], impl);
    assert.deepEqual(g.local, plain.local, impl);
    assert.deepEqual(g.rows, plain.rows, impl);
    assert.equal(bufs[0][257], -9, `${impl}: nothing written past the view`);
    const wrong = [new Int32Array(257), new Int32Array(4)];
    const call = () => (impl === 'native' ? kernel!(table, dim, ids, undefined, false, wrong as never) : gatherBatchRowsTs(table, dim, ids, { localOut: wrong }));
    assert.throws(call, /localOut\[1\] must be an Int32Array of 3 elements \(the length of ids\[1\]\)/, impl);
    const short = () => (impl === 'native' ? kernel!(table, dim, ids, undefined, false, [localOut[0]] as never) : gatherBatchRowsTs(table, dim, ids, { localOut: [localOut[0]] }));
    assert.throws(short, /localOut must be an array of 2 Int32Array/, impl);
  }
});

test('native gather: only padding gives no rows; local all zero', { skip }, () => {
  const g = kernel!(new Float32Array(8), 2, [new Int32Array(5)]);
  assert.equal(g.rows.length, 0);
  assert.equal(g.values.length, 0);
  assert.deepEqual(Array.from(g.local[0]), [0, 0, 0, 0, 0]);
});

test('native gather reads a SharedArrayBuffer-backed table (the parallel trainer\'s)', { skip }, () => {
  const dim = 3, rows = 40;
  const table = new Float32Array(new SharedArrayBuffer(rows * dim * 4));
  for (let i = 0; i < table.length; i++) table[i] = i;
  const ids = [Int32Array.from([39, 4, 0, 4, 17])];
  assertSame(kernel!(table, dim, ids), gatherBatchRowsTs(table, dim, ids));
  assert.deepEqual(Array.from(gatherBatchRows(table, dim, ids).rows), [4, 17, 39]);
});

test('native gather refuses out-of-range ids, a ragged table and non-Int32 ids, like the TS path', { skip }, () => {
  const table = new Float32Array(10 * 2);
  for (const bad of [10, -1]) {
    assert.throws(() => kernel!(table, 2, [Int32Array.from([1, bad])]), /embedding row -?\d+ outside the table \(0\.\.9\)/);
    assert.throws(() => gatherBatchRowsTs(table, 2, [Int32Array.from([1, bad])]), /embedding row -?\d+ outside the table \(0\.\.9\)/);
  }
  assert.throws(() => kernel!(new Float32Array(7), 2, [new Int32Array(1)]), /not a multiple of dim/);
  assert.throws(() => kernel!(table, 2, [Float32Array.from([1])] as unknown as Int32Array[]), /Int32Array/);
});
