import type { KernelConfig, TensorInfo } from '@tensorflow/tfjs-core';
import * as tf from '@tensorflow/tfjs-core';
import { fallback, isWord, strided, strides, type KernelArgs } from '../util.js';

/** Slice of a 4-byte tensor up to rank 8 (cm_strided from the begin offset). */
function slice(args: KernelArgs): TensorInfo | TensorInfo[] {
  const x = args.inputs.x as TensorInfo;
  if (!isWord(x) || x.shape.length > 8 || x.shape.length === 0) return fallback('Slice', args);
  const [begin, sz] = tf.slice_util.parseSliceParams(x as unknown as tf.Tensor, args.attrs?.begin as number[], args.attrs?.size as number[]);
  tf.slice_util.assertParamsValid(x as unknown as tf.Tensor, begin, sz);
  const st = strides(x.shape);
  return strided(args.backend, x, sz, st, begin.reduce((o, b, i) => o + b * st[i], 0));
}

export const sliceConfig: KernelConfig = { kernelName: 'Slice', backendName: 'cuda', kernelFunc: slice as unknown as KernelConfig['kernelFunc'] };
