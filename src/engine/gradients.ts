import * as tf from '@tensorflow/tfjs-core';

/**
 * Gradient overrides registered for every engine; each gives exactly tfjs's values with less work.
 * - Sum, Mean: tfjs multiplies the reshaped dy by `ones(x.shape)`, a fresh array of x's size filled
 *   in JavaScript on every backward pass (N × L × dim for the history pools): time, and garbage
 *   that drives the collector. Broadcasting dy to x's shape (a Tile) gives the same values.
 * - Multiply, Relu: tfjs casts the saved float32 input to float32 first, a kernel call (through
 *   the engine's bookkeeping) that does nothing; a step has ~150 multiplies.
 * Registered globally: gradients are not per backend in tfjs.
 */
function expandedDy(dy: tf.Tensor, xShape: number[], axis: unknown): tf.Tensor {
  const shape = xShape.slice();
  for (const a of tf.util.parseAxisParam(axis as number | number[], xShape)) shape[a] = 1;
  return tf.broadcastTo(tf.reshape(dy, shape), xShape);
}

const sumGrad: tf.GradConfig = {
  kernelName: tf.Sum,
  inputsToSave: ['x'],
  gradFunc: (dy, saved, attrs) => {
    const x = saved[0];
    return { x: () => expandedDy(dy as tf.Tensor, x.shape, (attrs as unknown as tf.SumAttrs).axis) };
  },
};

const meanGrad: tf.GradConfig = {
  kernelName: tf.Mean,
  inputsToSave: ['x'],
  gradFunc: (dy, saved, attrs) => {
    const x = saved[0];
    const axes = tf.util.parseAxisParam((attrs as unknown as tf.MeanAttrs).axis, x.shape);
    let size = 1;
    for (const a of axes) size *= x.shape[a];
    return { x: () => tf.div(expandedDy(dy as tf.Tensor, x.shape, axes), size) };
  },
};

const float = (t: tf.Tensor) => (t.dtype === 'float32' ? t : tf.cast(t, 'float32'));

/**
 * A fresh gradient `g` (of the broadcast shape) summed over the axes `shape` was broadcast along,
 * in `shape`. Returns `g` itself when nothing changes: safe only because `g` is a new tensor (tfjs
 * disposes accumulated gradients, so a gradient must never be dy itself or shared).
 */
function unbroadcast(g: tf.Tensor, shape: number[], outShape: number[]): tf.Tensor {
  const axes = tf.broadcast_util.getReductionAxes(shape, outShape);
  if (axes.length > 0) return tf.reshape(tf.sum(g, axes), shape);
  return tf.util.arraysEqual(g.shape, shape) ? g : tf.reshape(g, shape);
}

const multiplyGrad: tf.GradConfig = {
  kernelName: tf.Multiply,
  inputsToSave: ['a', 'b'],
  gradFunc: (dy, saved) => {
    const [a, b] = saved;
    const outShape = tf.broadcast_util.assertAndGetBroadcastShape(a.shape, b.shape);
    const side = (self: tf.Tensor, other: tf.Tensor) => () => unbroadcast(tf.mul(dy as tf.Tensor, float(other)), self.shape, outShape);
    return { a: side(a, b), b: side(b, a) };
  },
};

const reluGrad: tf.GradConfig = {
  kernelName: tf.Relu,
  inputsToSave: ['x'],
  gradFunc: (dy, saved) => ({ x: () => tf.mul(dy as tf.Tensor, float(tf.step(saved[0]))) }),
};

/** The overridden kernels' gradient configs (the tests compare each against tfjs's own). */
export const GRADIENT_OVERRIDES: readonly tf.GradConfig[] = [sumGrad, meanGrad, multiplyGrad, reluGrad];

let registered = false;

export function registerGradientOverrides(): void {
  if (registered) return;
  for (const g of GRADIENT_OVERRIDES) tf.registerGradient(g);
  registered = true;
}
