import * as tf from '@tensorflow/tfjs-core';
import { test } from 'node:test';
import { checkBoth, rand } from './helpers.js';

process.env.CMDCM_LOG_LEVEL = 'silent';

const t = (shape: number[], seed: number) => tf.tensor(rand(shape.reduce((a, b) => a * b, 1), seed), shape);

test('transpose, slice, tile, concat, split, pad vs cpu', async () => {
  await checkBoth(() => tf.transpose(t([7, 5], 1)), 0, 0, 'transpose 2d');
  await checkBoth(() => tf.transpose(t([3, 4, 5, 6], 1), [2, 0, 3, 1]), 0, 0, 'transpose 4d');
  await checkBoth(() => tf.transpose(t([3, 4], 1), [0, 1]), 0, 0, 'identity perm');
  await checkBoth(() => tf.slice(t([9, 8, 7], 2), [1, 2, 3], [4, 5, 2]), 0, 0, 'slice 3d');
  await checkBoth(() => tf.slice(t([9, 8], 2), [0, 3], [-1, 2]), 0, 0, 'column slice');
  await checkBoth(() => tf.slice(t([9, 8], 2), [2, 0], [3, 8]), 0, 0, 'row slice');
  await checkBoth(() => tf.tile(t([3, 1, 4], 3), [2, 5, 1]), 0, 0, 'tile');
  await checkBoth(() => tf.broadcastTo(t([6, 1, 4], 3), [6, 50, 4]), 0, 0, 'broadcastTo');
  await checkBoth(() => tf.concat([t([5, 3], 4), t([5, 16], 5), t([5, 0], 6), t([5, 70], 7)], 1), 0, 0, 'concat axis 1');
  await checkBoth(() => tf.concat([t([2, 5, 3], 4), t([2, 5, 4], 5)], 2), 0, 0, 'concat axis 2');
  await checkBoth(() => tf.concat([t([2, 3], 4), t([4, 3], 5)], 0), 0, 0, 'concat axis 0');
  await checkBoth(() => tf.concat([tf.tensor1d([1, 2], 'int32'), tf.tensor1d([3], 'int32')]), 0, 0, 'concat int32');
  await checkBoth(() => tf.split(t([4, 6, 9], 8), [2, 3, 4], 2), 0, 0, 'split last axis');
  await checkBoth(() => tf.split(t([4, 6, 9], 8), 2, 1), 0, 0, 'split middle axis');
  await checkBoth(() => tf.pad(t([3, 4], 9), [[1, 2], [0, 3]], 0.5), 0, 0, 'pad');
  await checkBoth(() => tf.pad(t([3, 1, 4], 9), [[0, 0], [2, 4], [0, 0]]), 0, 0, 'pad middle');
});

test('gradients of concat / slice / broadcast (split, pad, sum)', async () => {
  await checkBoth(() => {
    const a = t([6, 4], 10), b = t([6, 1, 4], 11);
    return tf.grads((a: tf.Tensor, b: tf.Tensor) => {
      const bb = tf.broadcastTo(b, [6, 5, 4]);
      const c = tf.concat([bb, tf.mul(bb, 2), tf.reshape(tf.tile(a, [1, 5]), [6, 5, 4])], 2);
      const s = tf.slice(c, [0, 1, 2], [6, 3, 7]);
      return tf.sum(tf.mul(s, t([6, 3, 7], 12)));
    })([a, b]);
  }, 1e-5, 1e-6, 'layout grads');
});
