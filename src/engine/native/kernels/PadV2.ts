import type { KernelConfig, TensorInfo } from '@tensorflow/tfjs-core';
import { addon } from '../addon.js';
import {  } from '../pool.js';
import { alloc, fallback, is4Byte, size, words, type KernelArgs } from '../util.js';

/** PadV2 (also the gradient of Slice) of a float32/int32 tensor: fill, then one memcpy per inner row. */
function padV2(args: KernelArgs): TensorInfo | TensorInfo[] {
  const x = args.inputs.x as TensorInfo;
  const paddings = (args.attrs?.paddings as [number, number][]) ?? [];
  const value = Number(args.attrs?.constantValue ?? 0);
  if (!is4Byte(x) || x.shape.length > 8 || paddings.length !== x.shape.length) return fallback('PadV2', args);
  const outShape = x.shape.map((d, i) => paddings[i][0] + d + paddings[i][1]);
  const out = alloc(x.dtype, size(outShape)) as Float32Array | Int32Array;
  out.fill(value);
  if (out.length > 0 && size(x.shape) > 0) {
    addon().pad(words(args.backend, x), out, Int32Array.from(x.shape), Int32Array.from(paddings.map((p) => p[0])), Int32Array.from(outShape));
  }
  return args.backend.makeTensorInfo(outShape, x.dtype, out);
}

export const padV2Config: KernelConfig = { kernelName: 'PadV2', backendName: 'native', kernelFunc: padV2 as unknown as KernelConfig['kernelFunc'] };
