import type { KernelConfig, TensorInfo } from '@tensorflow/tfjs-core';
import * as tf from '@tensorflow/tfjs-core';
import { alloc, fallback, is4Byte, size, words, type KernelArgs } from '../util.js';

/**
 * Concat of float32/int32 tensors along any axis: one TypedArray.set per input and outer row
 * (tfjs's CPU kernel copies non-leading-axis concats element by element).
 */
function concat(args: KernelArgs): TensorInfo | TensorInfo[] {
  // tfjs passes Concat's inputs as the array of tensors itself.
  const all = args.inputs as unknown as TensorInfo[];
  const ts = all.filter((t) => size(t.shape) > 0);
  if (all.length === 0 || !all.every((t) => is4Byte(t) && t.dtype === all[0].dtype)) return fallback('Concat', args);
  const axis = tf.util.parseAxisParam(args.attrs?.axis as number, all[0].shape)[0];
  const outShape = tf.backend_util.computeOutShape(all.map((t) => t.shape), axis);
  const out = alloc(all[0].dtype, size(outShape)) as Float32Array | Int32Array;
  const outer = size(outShape.slice(0, axis));
  const rowOut = outer === 0 ? 0 : out.length / outer;
  let off = 0;
  for (const t of ts) {
    const v = words(args.backend, t);
    const w = size(t.shape.slice(axis));
    if (outer === 1) out.set(v, off);
    else if (w >= 64) for (let r = 0; r < outer; r++) out.set(v.subarray(r * w, r * w + w), r * rowOut + off);
    // Narrow rows: a plain loop beats creating one subarray view per row.
    else for (let r = 0, o = off, i = 0; r < outer; r++, o += rowOut) for (let j = 0; j < w; j++) out[o + j] = v[i++];
    off += w;
  }
  return args.backend.makeTensorInfo(outShape, all[0].dtype, out);
}

export const concatConfig: KernelConfig = { kernelName: 'Concat', backendName: 'native', kernelFunc: concat as unknown as KernelConfig['kernelFunc'] };
