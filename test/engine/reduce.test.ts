import * as tf from '@tensorflow/tfjs-core';
import { test } from 'node:test';
import { checkBoth, rand } from './helpers.js';

process.env.CMDCM_LOG_LEVEL = 'silent';

const t = (shape: number[], seed: number) => tf.tensor(rand(shape.reduce((a, b) => a * b, 1), seed), shape);

test('sum / mean / max / min / prod along axes vs cpu', async () => {
  const shapes: [number[], (number | number[])[]][] = [
    [[37, 23], [0, 1, -1, [0, 1]]],
    [[5, 7, 9], [0, 1, 2, [0, 1], [1, 2], [0, 2]]],
    [[3, 4, 5, 6], [1, [1, 2], [2, 3], 3]],
    [[1], [0]],
    [[1024, 3], [0]],
    [[0, 4], [0, 1]],
  ];
  for (const [shape, axes] of shapes) {
    for (const axis of axes) {
      // the native reductions take one contiguous run of axes of a non-empty tensor; the rest go to
      // tfjs's CPU kernels
      const fallback = (Array.isArray(axis) && axis.some((a, i) => i > 0 && a !== axis[i - 1] + 1)) || shape.includes(0);
      for (const keepDims of [false, true]) {
        const x = () => t(shape, 3);
        await checkBoth(() => tf.sum(x(), axis, keepDims), 1e-5, 1e-6, `sum ${shape} ${axis} ${keepDims}`, { fallback });
        await checkBoth(() => tf.mean(x(), axis, keepDims), 1e-5, 1e-6, `mean ${shape} ${axis} ${keepDims}`, { fallback });
        if (shape.every((d) => d > 0)) {
          await checkBoth(() => tf.max(x(), axis, keepDims), 0, 0, `max ${shape} ${axis} ${keepDims}`, { fallback });
          await checkBoth(() => tf.min(x(), axis, keepDims), 0, 0, `min ${shape} ${axis} ${keepDims}`, { fallback });
          await checkBoth(() => tf.prod(x(), axis, keepDims), 1e-5, 1e-30, `prod ${shape} ${axis} ${keepDims}`, { fallback });
        }
      }
    }
  }
  await checkBoth(() => tf.max(tf.tensor([[1, NaN, 3], [4, 5, 6]]), 1), 0, 0, 'max NaN');
});

test('softmax over the last axis and its gradient', async () => {
  await checkBoth(() => tf.softmax(t([13, 50], 5)), 1e-5, 1e-7, 'softmax 2d');
  await checkBoth(() => tf.softmax(tf.mul(t([2, 3, 7], 6), 100)), 1e-5, 1e-7, 'softmax 3d large');
  await checkBoth(() => tf.grad((x: tf.Tensor) => tf.sum(tf.mul(tf.softmax(x), t([13, 50], 8))))(t([13, 50], 7)), 1e-4, 1e-7, 'softmax grad');
});
