import * as tf from '@tensorflow/tfjs-core';
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { useEngine } from '../../src/engine/index.js';
import { startKernelTrace, stopKernelTrace } from '../../src/engine/native/util.js';
import { checkBoth, ENGINE, rand } from './helpers.js';

process.env.CMDCM_LOG_LEVEL = 'silent';

const t = (shape: number[], seed: number) => tf.tensor(rand(shape.reduce((a, b) => a * b, 1), seed), shape);
const ids = (n: number, max: number, seed: number) => tf.tensor1d(Array.from(rand(n, seed, 0, max), Math.floor), 'int32');

test('gather along axes 0, 1, last; int32 params; repeated and 2-d indices', async () => {
  await checkBoth(() => tf.gather(t([50, 16], 1), ids(200, 50, 2)), 0, 0, 'axis 0');
  await checkBoth(() => tf.gather(t([6, 50, 4], 1), ids(30, 50, 3), 1), 0, 0, 'axis 1');
  await checkBoth(() => tf.gather(t([6, 9], 1), ids(12, 9, 4), -1), 0, 0, 'last axis');
  await checkBoth(() => tf.gather(tf.tensor2d([[1, 2], [3, 4], [5, 6]], [3, 2], 'int32'), tf.tensor1d([2, 0, 2], 'int32')), 0, 0, 'int32');
  await checkBoth(() => tf.gather(t([10, 3], 5), tf.tensor2d([[1, 2], [9, 0]], [2, 2], 'int32')), 0, 0, '2-d indices');
  await checkBoth(() => tf.gather(t([10, 3], 5), tf.tensor1d([], 'int32')), 0, 0, 'no indices');
});

test('gather out of range throws on native too', async () => {
  await useEngine(ENGINE);
  assert.throws(() => tf.gather(tf.zeros([3, 2]), tf.tensor1d([3], 'int32')).dataSync(), /index value 3 is not in \[0, 2\]/);
});

test('unsortedSegmentSum and the gather gradient vs cpu', async () => {
  await checkBoth(() => tf.unsortedSegmentSum(t([300, 16], 6), ids(300, 40, 7), 40), 1e-5, 1e-6, '2-d');
  await checkBoth(() => tf.unsortedSegmentSum(t([30], 6), ids(30, 5, 8), 5), 1e-5, 1e-6, '1-d');
  await checkBoth(() => tf.unsortedSegmentSum(t([4, 3], 6), tf.tensor1d([0, 0, 0, 0], 'int32'), 1), 1e-5, 1e-6, 'one segment');
  await checkBoth(() => tf.grad((e: tf.Tensor) => tf.sum(tf.mul(tf.gather(e, ids(500, 60, 9)), t([500, 8], 10))))(t([60, 8], 11)), 1e-5, 1e-6, 'gather grad');
});

test('unsortedSegmentSum into a 2M-segment output: right sums, computed by the native kernel', async () => {
  // The native kernel visits only the rows its ids touch, where tfjs's CPU kernel compares every id
  // with every one of the 2M segments (seconds); how long it takes is bench/ business, not a test's.
  await useEngine(ENGINE);
  startKernelTrace();
  const r = tf.unsortedSegmentSum(tf.ones([4, 2]), tf.tensor1d([1999999, 5, 5, 0], 'int32'), 2_000_000);
  const v = r.dataSync();
  const trace = stopKernelTrace()!;
  assert.equal(v[1999999 * 2], 1);
  assert.equal(v[5 * 2 + 1], 2);
  assert.equal(v[3], 0);
  assert.equal(trace.native.get('UnsortedSegmentSum'), 1);
  assert.equal(trace.fallback.size, 0);
  r.dispose();
});
