import type { KernelConfig, TensorInfo } from '@tensorflow/tfjs-core';
import { f32, fallback, type KernelArgs } from '../util.js';
import { allocF32 } from '../pool.js';

/** AddN (gradient accumulation of a tensor used several times): one pass per input, float32. */
function addN(args: KernelArgs): TensorInfo | TensorInfo[] {
  // tfjs passes AddN's inputs as the array of tensors itself.
  const ts = args.inputs as unknown as TensorInfo[];
  if (ts.length === 0 || ts.some((t) => t.dtype !== 'float32')) return fallback('AddN', args);
  const first = f32(args.backend, ts[0]);
  const out = allocF32(first.length);
  out.set(first);
  for (let i = 1; i < ts.length; i++) {
    const v = f32(args.backend, ts[i]);
    for (let j = 0; j < out.length; j++) out[j] += v[j];
  }
  return args.backend.makeTensorInfo(ts[0].shape, 'float32', out);
}

export const addNConfig: KernelConfig = { kernelName: 'AddN', backendName: 'native', kernelFunc: addN as unknown as KernelConfig['kernelFunc'] };
