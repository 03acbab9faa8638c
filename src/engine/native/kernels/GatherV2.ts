import type { KernelConfig, TensorInfo } from '@tensorflow/tfjs-core';
import * as tf from '@tensorflow/tfjs-core';
import { addon } from '../addon.js';
import { alloc, fallback, i32, is4Byte, size, words, type KernelArgs } from '../util.js';

/** GatherV2 along any axis (batchDims 0) of a float32/int32 tensor: one memcpy per index and outer row. */
function gatherV2(args: KernelArgs): TensorInfo | TensorInfo[] {
  const x = args.inputs.x as TensorInfo, indices = args.inputs.indices as TensorInfo;
  const attrs = args.attrs ?? {};
  if (!is4Byte(x) || indices.dtype !== 'int32' || Number(attrs.batchDims ?? 0) !== 0) return fallback('GatherV2', args);
  const axis = tf.util.parseAxisParam(attrs.axis as number, x.shape)[0];
  const outShape = [...x.shape.slice(0, axis), ...indices.shape, ...x.shape.slice(axis + 1)];
  const out = alloc(x.dtype, size(outShape)) as Float32Array | Int32Array;
  const outer = size(x.shape.slice(0, axis)), inner = size(x.shape.slice(axis + 1));
  addon().gather(words(args.backend, x), i32(args.backend, indices), out, outer, x.shape[axis], inner);
  return args.backend.makeTensorInfo(outShape, x.dtype, out);
}

export const gatherV2Config: KernelConfig = { kernelName: 'GatherV2', backendName: 'native', kernelFunc: gatherV2 as unknown as KernelConfig['kernelFunc'] };
