import type { KernelConfig, TensorInfo } from '@tensorflow/tfjs-core';
import { addon } from '../addon.js';
import { allocF32 } from '../pool.js';
import { f32, fallback, size, type KernelArgs } from '../util.js';

/** Softmax over the last axis (attention weights), float32. */
function softmax(args: KernelArgs): TensorInfo | TensorInfo[] {
  const x = args.inputs.logits as TensorInfo;
  const dim = Number(args.attrs?.dim ?? -1);
  const rank = x.shape.length;
  if (x.dtype !== 'float32' || rank === 0 || (dim !== -1 && dim !== rank - 1)) return fallback('Softmax', args);
  const cols = x.shape[rank - 1];
  const out = allocF32(size(x.shape));
  if (out.length > 0) addon().softmax(f32(args.backend, x), out, out.length / cols, cols);
  return args.backend.makeTensorInfo(x.shape, 'float32', out);
}

export const softmaxConfig: KernelConfig = { kernelName: 'Softmax', backendName: 'native', kernelFunc: softmax as unknown as KernelConfig['kernelFunc'] };
