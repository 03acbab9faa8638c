import * as tf from '@tensorflow/tfjs-core';
import { test } from 'node:test';
import { checkBoth, rand } from './helpers.js';

process.env.CMDCM_LOG_LEVEL = 'silent';

const t = (shape: number[], seed: number) => tf.tensor(rand(shape.reduce((a, b) => a * b, 1), seed), shape);

test('MatMul: all transpose combinations, packed and small paths, odd sizes', async () => {
  for (const [m, k, n] of [[1, 1, 1], [3, 5, 2], [37, 29, 41], [130, 260, 70], [7, 300, 1]]) {
    for (const tA of [false, true]) {
      for (const tB of [false, true]) {
        await checkBoth(() => tf.matMul(t(tA ? [k, m] : [m, k], 1), t(tB ? [n, k] : [k, n], 2), tA, tB), 1e-4, 1e-5, `${m}x${k}x${n} tA=${tA} tB=${tB}`);
      }
    }
  }
});

test('BatchMatMul: batch > 1, a broadcast batch of 1, empty', async () => {
  await checkBoth(() => tf.matMul(t([4, 9, 17], 3), t([4, 17, 6], 4)), 1e-4, 1e-5, 'batch');
  await checkBoth(() => tf.matMul(t([4, 17, 9], 3), t([4, 6, 17], 4), true, true), 1e-4, 1e-5, 'batch tt');
  await checkBoth(() => tf.matMul(t([1, 9, 17], 5), t([3, 17, 6], 6)), 1e-4, 1e-5, 'broadcast a');
  await checkBoth(() => tf.matMul(t([3, 9, 17], 5), t([17, 6], 6)), 1e-4, 1e-5, 'broadcast b');
  await checkBoth(() => tf.matMul(tf.zeros([0, 5]), t([5, 3], 7)), 0, 0, 'empty m');
  await checkBoth(() => tf.matMul(tf.zeros([4, 0]), tf.zeros([0, 3])), 0, 0, 'empty k');
});

test('_FusedMatMul: bias shapes and activations', async () => {
  const a = () => t([33, 20], 8), b = () => t([20, 19], 9);
  for (const activation of ['linear', 'relu', 'sigmoid', 'elu', 'relu6', 'leakyrelu'] as const) {
    await checkBoth(() => tf.fused.matMul({ a: a(), b: b(), bias: t([19], 10), activation }), 1e-4, 1e-5, `row bias ${activation}`);
  }
  await checkBoth(() => tf.fused.matMul({ a: a(), b: b(), bias: tf.scalar(0.3), activation: 'relu' }), 1e-4, 1e-5, 'scalar bias');
  await checkBoth(() => tf.fused.matMul({ a: a(), b: b(), bias: t([33, 1], 11), activation: 'relu' }), 1e-4, 1e-5, 'column bias');
  await checkBoth(() => tf.fused.matMul({ a: a(), b: b(), bias: t([33, 19], 12) }), 1e-4, 1e-5, 'full bias');
  await checkBoth(() => tf.fused.matMul({ a: t([20, 33], 13), b: t([19, 20], 14), transposeA: true, transposeB: true, bias: t([19], 10), activation: 'relu' }), 1e-4, 1e-5, 'fused tt');
  await checkBoth(() => tf.fused.matMul({ a: a(), b: b() }), 1e-4, 1e-5, 'no bias');
});

test('fused matmul gradients (bias + relu, the path tfjs unfuses under tf.grads)', async () => {
  await checkBoth(() => {
    const x = t([31, 24], 20), w = t([24, 18], 21), bias = t([18], 22), w2 = t([18, 5], 23);
    return tf.grads((x: tf.Tensor, w: tf.Tensor, bias: tf.Tensor, w2: tf.Tensor) => {
      const h = tf.fused.matMul({ a: x as tf.Tensor2D, b: w as tf.Tensor2D, bias, activation: 'relu' });
      return tf.sum(tf.sigmoid(tf.fused.matMul({ a: h, b: w2 as tf.Tensor2D, transposeB: false })));
    })([x, w, bias, w2]);
  }, 1e-4, 1e-6, 'grads');
});
