import type { KernelConfig, TensorInfo } from '@tensorflow/tfjs-core';
import { fallback, size, type KernelArgs } from '../util.js';

/** Softmax over the last axis (attention weights), float32: one thread per row (cm_softmax). */
function softmax(args: KernelArgs): TensorInfo | TensorInfo[] {
  const x = args.inputs.logits as TensorInfo;
  const dim = Number(args.attrs?.dim ?? -1);
  const rank = x.shape.length;
  if (x.dtype !== 'float32' || rank === 0 || (dim !== -1 && dim !== rank - 1)) return fallback('Softmax', args);
  const cols = x.shape[rank - 1];
  const out = args.backend.makeOutput(x.shape, 'float32');
  const n = size(x.shape);
  if (n > 0) args.backend.device.launch('cm_softmax', n / cols, [args.backend.ptr(x), args.backend.ptr(out)], [n / cols, cols]);
  return out;
}

export const softmaxConfig: KernelConfig = { kernelName: 'Softmax', backendName: 'cuda', kernelFunc: softmax as unknown as KernelConfig['kernelFunc'] };
