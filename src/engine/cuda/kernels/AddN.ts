import type { KernelConfig, TensorInfo } from '@tensorflow/tfjs-core';
import { fallback, size, type KernelArgs } from '../util.js';
import { binaryInto } from './binary.js';

/** AddN (gradient accumulation): a + b, then each further input added in place (cm_binary). */
function addN(args: KernelArgs): TensorInfo | TensorInfo[] {
  // tfjs passes AddN's inputs as the array of tensors itself.
  const ts = args.inputs as unknown as TensorInfo[];
  if (ts.length === 0 || ts.some((t) => t.dtype !== 'float32' || t.shape.join() !== ts[0].shape.join())) return fallback('AddN', args);
  if (ts.length === 1) {
    const out = args.backend.makeOutput(ts[0].shape, 'float32');
    args.backend.device.copy(args.backend.ptr(out), 0, args.backend.ptr(ts[0]), 0, size(ts[0].shape) * 4);
    return out;
  }
  const out = binaryInto(args, 0, ts[0], ts[1]);
  for (let i = 2; i < ts.length; i++) binaryInto(args, 0, out, ts[i], out);
  return out;
}

export const addNConfig: KernelConfig = { kernelName: 'AddN', backendName: 'cuda', kernelFunc: addN as unknown as KernelConfig['kernelFunc'] };
