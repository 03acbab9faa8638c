import * as tf from '@tensorflow/tfjs-core';
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ENGINE, checkBoth, rand } from './helpers.js';
import { useEngine } from '../../src/engine/index.js';

process.env.CMDCM_LOG_LEVEL = 'silent';

const t = (shape: number[], seed: number, lo = -2, hi = 2) => tf.tensor(rand(shape.reduce((a, b) => a * b, 1), seed, lo, hi), shape);

const BINARY: [string, (a: tf.Tensor, b: tf.Tensor) => tf.Tensor][] = [
  ['add', tf.add], ['sub', tf.sub], ['mul', tf.mul], ['div', tf.div], ['maximum', tf.maximum], ['minimum', tf.minimum],
  ['squaredDifference', tf.squaredDifference], ['greater', tf.greater], ['greaterEqual', tf.greaterEqual], ['less', tf.less],
  ['lessEqual', tf.lessEqual], ['equal', tf.equal], ['notEqual', tf.notEqual],
];
const SHAPES: [number[], number[]][] = [
  [[37, 23], [37, 23]], // same shape
  [[37, 23], [23]], // row broadcast
  [[37, 23], [37, 1]], // column broadcast
  [[37, 23], []], // scalar
  [[], [37, 23]],
  [[1, 23], [37, 1]], // outer product
  [[5, 1, 7], [1, 6, 7]],
  [[4, 6, 5, 3], [6, 1, 3]],
  [[1], [1]],
  [[0, 4], [4]], // empty
];

test('binary ops vs cpu across broadcasts (row, column, scalar, general, empty)', async () => {
  for (const [name, f] of BINARY) {
    for (const [sa, sb] of SHAPES) {
      await checkBoth(() => f(t(sa, 1), t(sb, 2)), 1e-6, 1e-7, `${name} ${JSON.stringify(sa)} ${JSON.stringify(sb)}`);
    }
  }
  // exact ties and NaN for comparisons / max
  await checkBoth(() => tf.maximum(tf.tensor([1, NaN, 3, -1]), tf.tensor([1, 2, NaN, -2])), 0, 0, 'maximum NaN');
  await checkBoth(() => tf.greaterEqual(tf.tensor([1, 2, 3]), tf.tensor([1, 3, 2])), 0, 0, 'ties');
  await checkBoth(() => tf.addN([t([9, 4], 3), t([9, 4], 4), t([9, 4], 5)]), 1e-6, 1e-7, 'addN');
});

test('unary ops vs cpu, including extreme values', async () => {
  const extremes = tf.tensor([0, -0, 1e-8, -1e-8, 30, -30, 88, -88, 100, -100, NaN]);
  const pos = () => t([17, 13], 7, 0.01, 5);
  const any = () => t([17, 13], 8, -6, 6);
  const cases: [string, () => tf.Tensor][] = [
    ['relu', () => tf.relu(any())], ['sigmoid', () => tf.sigmoid(any())], ['exp', () => tf.exp(any())], ['log', () => tf.log(pos())],
    ['log1p', () => tf.log1p(pos())], ['softplus', () => tf.softplus(any())], ['neg', () => tf.neg(any())], ['square', () => tf.square(any())],
    ['sqrt', () => tf.sqrt(pos())], ['rsqrt', () => tf.rsqrt(pos())], ['abs', () => tf.abs(any())], ['tanh', () => tf.tanh(any())],
    ['step', () => tf.step(any(), 0.3)], ['reciprocal', () => tf.reciprocal(pos())], ['elu', () => tf.elu(any())],
    ['clip', () => tf.clipByValue(any(), -1, 0.5)], ['leakyRelu', () => tf.leakyRelu(any(), 0.1)], ['relu6', () => tf.relu6(t([9], 9, -3, 9))],
    ['expm1', () => tf.expm1(any())],
    ['sigmoid extremes', () => tf.sigmoid(extremes)], ['exp extremes', () => tf.exp(extremes)], ['relu extremes', () => tf.relu(extremes)],
    ['softplus extremes', () => tf.softplus(extremes)], ['1 element', () => tf.sigmoid(tf.tensor([0.5]))], ['empty', () => tf.exp(tf.zeros([0, 3]))],
  ];
  for (const [name, f] of cases) await checkBoth(f, 2e-6, 1e-30, name);
});

test('select (where) with full and broadcast conditions', async () => {
  await checkBoth(() => tf.where(tf.greater(t([8, 5], 1), 0), t([8, 5], 2), t([8, 5], 3)), 0, 0, 'full', { kernels: ['Select'] });
  // a [8, 1] condition is broadcast by tfjs's CPU kernel: the native Select hands it over
  await checkBoth(() => tf.where(tf.greater(t([8, 1], 4), 0), t([8, 5], 2), t([8, 5], 3)), 0, 0, 'broadcast condition', { fallback: true });
});

test('select with a condition of the leading dim picks whole rows', async () => {
  // tf.where broadcasts its condition itself, so only a direct kernel call passes one like this;
  // tfjs's CPU Select would repeat t[i] / e[i] along the row, so the oracle is written out here
  const { startKernelTrace, stopKernelTrace } = await import('../../src/engine/native/util.js');
  await useEngine(ENGINE);
  startKernelTrace();
  const r = tf.engine().runKernel('Select', { condition: tf.tensor1d([1, 0, 1], 'bool'), t: tf.tensor2d([[1, 2], [3, 4], [5, 6]]), e: tf.tensor2d([[-1, -2], [-3, -4], [-5, -6]]) }) as tf.Tensor;
  const trace = stopKernelTrace()!;
  assert.deepEqual(Array.from(r.dataSync()), [1, 2, -3, -4, 5, 6]);
  assert.equal(trace.native.get('Select'), 1);
  assert.equal(trace.fallback.size, 0);
});

test('gradients through a composite of element-wise ops match cpu within 1e-4', async () => {
  await checkBoth(() => {
    const x = t([23, 11], 30), y = t([11], 31), z = t([23, 1], 32);
    return tf.grads((x: tf.Tensor, y: tf.Tensor, z: tf.Tensor) => {
      const a = tf.mul(tf.sigmoid(tf.add(x, y)), tf.relu(tf.sub(x, z)));
      const b = tf.div(tf.softplus(a), tf.add(tf.exp(tf.neg(tf.square(z))), 1));
      const c = tf.maximum(b, tf.log1p(tf.abs(x)));
      return tf.mean(tf.sum(tf.mul(c, tf.clipByValue(x, -0.5, 0.5)), 1));
    })([x, y, z]);
  }, 1e-4, 1e-7, 'composite grads');
});
