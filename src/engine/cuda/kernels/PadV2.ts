import type { KernelConfig, TensorInfo } from '@tensorflow/tfjs-core';
import { bitsOf, fallback, isWord, size, type KernelArgs } from '../util.js';

/** PadV2 (also the gradient of Slice) of a 4-byte tensor up to rank 8 (cm_pad). */
function padV2(args: KernelArgs): TensorInfo | TensorInfo[] {
  const x = args.inputs.x as TensorInfo;
  const paddings = (args.attrs?.paddings as [number, number][]) ?? [];
  const value = Number(args.attrs?.constantValue ?? 0);
  if (!isWord(x) || x.shape.length > 8 || x.shape.length === 0 || paddings.length !== x.shape.length) return fallback('PadV2', args);
  const outShape = x.shape.map((d, i) => paddings[i][0] + d + paddings[i][1]);
  const out = args.backend.makeOutput(outShape, x.dtype);
  const ints = new Array<number>(26).fill(0);
  ints[0] = x.shape.length;
  outShape.forEach((d, i) => { ints[1 + i] = d; ints[9 + i] = x.shape[i]; ints[17 + i] = paddings[i][0]; });
  ints[25] = bitsOf(value, x.dtype);
  args.backend.device.launch('cm_pad', size(outShape), [args.backend.ptr(x), args.backend.ptr(out)], ints);
  return out;
}

export const padV2Config: KernelConfig = { kernelName: 'PadV2', backendName: 'cuda', kernelFunc: padV2 as unknown as KernelConfig['kernelFunc'] };
