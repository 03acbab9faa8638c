import * as tf from '@tensorflow/tfjs-core';
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { useEngine } from '../../../src/engine/index.js';
import { startKernelTrace, stopKernelTrace } from '../../../src/engine/native/util.js';
import { checkBoth, rand } from '../helpers.js';

/**
 * The kernels the cuda backend has beyond the native set (the native engine inherits these from
 * tfjs's CPU backend, so the native tests do not cover them), compared with cpu the same way.
 * Imported by kernels.test.ts with CMDCM_TEST_ENGINE=cuda.
 */
const t = (shape: number[], seed: number, lo = -2, hi = 2) => tf.tensor(rand(shape.reduce((a, b) => a * b, 1), seed, lo, hi), shape);

test('cuda: cast, fill, zerosLike/onesLike, reshape/expandDims/squeeze, stack/unstack, argMax/argMin', async () => {
  await checkBoth(() => tf.cast(t([7, 5], 1, -50, 50), 'int32'), 0, 0, 'cast f32->i32', { kernels: ['Cast'] });
  await checkBoth(() => tf.cast(tf.tensor1d([0, 1.5, -0, NaN, -2]), 'bool'), 0, 0, 'cast f32->bool', { kernels: ['Cast'] });
  await checkBoth(() => tf.cast(tf.greater(t([6, 4], 2), 0), 'float32'), 0, 0, 'cast bool->f32', { kernels: ['Cast'] });
  await checkBoth(() => tf.cast(tf.tensor1d([3, -7, 0], 'int32'), 'float32'), 0, 0, 'cast i32->f32', { kernels: ['Cast'] });
  await checkBoth(() => tf.fill([3, 4], 2.5), 0, 0, 'fill', { kernels: ['Fill'] });
  await checkBoth(() => tf.fill([5], 7, 'int32'), 0, 0, 'fill int32', { kernels: ['Fill'] });
  await checkBoth(() => [tf.zerosLike(t([3, 2], 3)), tf.onesLike(t([2, 5], 4))], 0, 0, 'like', { kernels: ['ZerosLike', 'OnesLike'] });
  await checkBoth(() => tf.add(tf.squeeze(tf.expandDims(tf.reshape(t([6, 4], 5), [4, 6]), 1)), 1), 0, 0, 'shape kernels',
    { kernels: ['Reshape', 'ExpandDims'] });
  await checkBoth(() => tf.stack([t([3, 4], 6), t([3, 4], 7), t([3, 4], 8)], 1), 0, 0, 'stack axis 1', { kernels: ['Pack'] });
  await checkBoth(() => tf.unstack(t([3, 4, 2], 9), 1), 0, 0, 'unstack axis 1', { kernels: ['Unpack'] });
  await checkBoth(() => [tf.argMax(t([9, 7], 10), 1), tf.argMin(t([9, 7], 10), 0), tf.argMax(t([2, 5, 3], 11), 1)], 0, 0, 'argMax/argMin',
    { kernels: ['ArgMax', 'ArgMin'] });
  const bools = (seed: number, shape: number[]) => tf.greater(t(shape, seed), 0);
  await checkBoth(() => [tf.logicalAnd(bools(15, [5, 4]), bools(16, [4])), tf.logicalOr(bools(17, [5, 1]), bools(18, [5, 4])), tf.logicalNot(bools(19, [6]))],
    0, 0, 'logical', { kernels: ['LogicalAnd', 'LogicalOr', 'LogicalNot'] });
});

test('cuda: long reductions take the chunked two-pass path and still equal cpu', async () => {
  // R = 3000 rows > 4 chunks of 256, few outputs: partial sums per chunk, then a second pass
  for (const op of [tf.sum, tf.mean, tf.max, tf.min] as const) {
    await checkBoth(() => op(t([3000, 5], 12), 0), 1e-5, 1e-5, `chunked ${op.name}`, { kernels: [] });
  }
  await checkBoth(() => tf.prod(t([2000, 3], 13, 0.999, 1.001), 0), 1e-4, 1e-30, 'chunked prod');
  await checkBoth(() => tf.sum(t([4, 6, 5], 14), [0, 2]), 1e-5, 1e-6, 'scattered axes (transposed first)');
});

test('cuda: a kernel without a cuda implementation falls back through the host, traced', async () => {
  await useEngine('cuda');
  startKernelTrace();
  const r = tf.cumsum(tf.tensor1d([1, 2, 3, 4]));
  const v = Array.from(r.dataSync());
  const trace = stopKernelTrace()!;
  assert.deepEqual(v, [1, 3, 6, 10]);
  assert.equal(trace.fallback.get('Cumsum'), 1);
  r.dispose();
});

test('cuda: no device memory leaks across a gradient step (every buffer freed goes back to the cache)', async () => {
  await useEngine('cuda');
  const before = tf.memory() as unknown as { numBytesInGPU: number; numTensors: number };
  const x = t([32, 16], 20), w = t([16, 8], 21);
  const g = tf.grads((x: tf.Tensor, w: tf.Tensor) => tf.sum(tf.sigmoid(tf.matMul(x, w))))([x, w]);
  tf.dispose([x, w, ...g]);
  const after = tf.memory() as unknown as { numBytesInGPU: number; numTensors: number };
  assert.equal(after.numTensors, before.numTensors);
  assert.equal(after.numBytesInGPU, before.numBytesInGPU);
});

test('cuda: worker threads open devices of their own, and a thread that ends closes its devices (env cleanup hook)', async () => {
  const { Worker } = await import('node:worker_threads');
  const { createRequire } = await import('node:module');
  const { pathToFileURL } = await import('node:url');
  const url = new URL('../../../src/engine/index.js', import.meta.url).href;
  const tfUrl = pathToFileURL(createRequire(import.meta.url).resolve('@tensorflow/tfjs-core')).href;
  const src = `
    import { parentPort } from 'node:worker_threads';
    const { useEngine } = await import(${JSON.stringify(url)});
    const tf = await import(${JSON.stringify(tfUrl)});
    const e = await useEngine('cuda');
    const y = tf.matMul(tf.tensor2d([[1, 2], [3, 4]]), tf.tensor2d([[5], [6]]));
    parentPort.postMessage({ e, backend: tf.getBackend(), y: Array.from(y.dataSync()) });
  `;
  for (let round = 0; round < 2; round++) {
    const workers = [0, 1].map(() => new Worker(new URL(`data:text/javascript,${encodeURIComponent(src)}`), { env: { ...process.env } }));
    const msgs = await Promise.all(workers.map((w) => new Promise<unknown>((resolve, reject) => {
      w.once('message', resolve);
      w.once('error', reject);
    })));
    await Promise.all(workers.map((w) => w.terminate()));
    for (const m of msgs) assert.deepEqual(m, { e: 'cuda', backend: 'cuda', y: [17, 39] });
  }
  // this thread's device still works after the workers' were closed
  await useEngine('cuda');
  assert.deepEqual(Array.from(tf.add(tf.tensor1d([1, 2]), 1).dataSync()), [2, 3]);
});
