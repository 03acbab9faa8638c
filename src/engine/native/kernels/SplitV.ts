import type { KernelConfig, TensorInfo } from '@tensorflow/tfjs-core';
import * as tf from '@tensorflow/tfjs-core';
import { addon } from '../addon.js';
import { alloc, fallback, is4Byte, size, words, type KernelArgs } from '../util.js';

/**
 * SplitV (also the gradient of Concat) of a float32/int32 tensor: one strided copy per piece.
 * tfjs's CPU kernel slices each piece element by element when the axis is not the leading one.
 */
function splitV(args: KernelArgs): TensorInfo | TensorInfo[] {
  const x = args.inputs.x as TensorInfo;
  if (!is4Byte(x) || x.shape.length > 8 || x.shape.length === 0) return fallback('SplitV', args);
  const axis = tf.util.parseAxisParam(args.attrs?.axis as number, x.shape)[0];
  const sizes = tf.backend_util.prepareSplitSize(x as unknown as tf.Tensor, args.attrs?.numOrSizeSplits as number | number[], axis);
  const xv = words(args.backend, x);
  const shape = Int32Array.from(x.shape);
  const begin = new Int32Array(x.shape.length);
  return sizes.map((s) => {
    const outShape = x.shape.slice();
    outShape[axis] = s;
    const out = alloc(x.dtype, size(outShape)) as Float32Array | Int32Array;
    if (out.length > 0) addon().slice(xv, out, shape, begin, Int32Array.from(outShape));
    begin[axis] += s;
    return args.backend.makeTensorInfo(outShape, x.dtype, out);
  });
}

export const splitVConfig: KernelConfig = { kernelName: 'SplitV', backendName: 'native', kernelFunc: splitV as unknown as KernelConfig['kernelFunc'] };
