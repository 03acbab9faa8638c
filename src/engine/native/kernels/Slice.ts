import type { KernelConfig, TensorInfo } from '@tensorflow/tfjs-core';
import * as tf from '@tensorflow/tfjs-core';
import { addon } from '../addon.js';
import { alloc, fallback, is4Byte, size, words, type KernelArgs } from '../util.js';

/** Slice of a float32/int32 tensor (column slices included, which tfjs's CPU copies element by element). */
function slice(args: KernelArgs): TensorInfo | TensorInfo[] {
  const x = args.inputs.x as TensorInfo;
  if (!is4Byte(x) || x.shape.length > 8 || x.shape.length === 0) return fallback('Slice', args);
  const [begin, sz] = tf.slice_util.parseSliceParams(x as unknown as tf.Tensor, args.attrs?.begin as number[], args.attrs?.size as number[]);
  tf.slice_util.assertParamsValid(x as unknown as tf.Tensor, begin, sz);
  const out = alloc(x.dtype, size(sz)) as Float32Array | Int32Array;
  if (out.length > 0) {
    addon().slice(words(args.backend, x), out, Int32Array.from(x.shape), Int32Array.from(begin), Int32Array.from(sz));
  }
  return args.backend.makeTensorInfo(sz, x.dtype, out);
}

export const sliceConfig: KernelConfig = { kernelName: 'Slice', backendName: 'native', kernelFunc: slice as unknown as KernelConfig['kernelFunc'] };
