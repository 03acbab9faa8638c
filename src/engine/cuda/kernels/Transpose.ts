import type { KernelConfig, TensorInfo } from '@tensorflow/tfjs-core';
import { fallback, isWord, strided, strides, type KernelArgs } from '../util.js';

/** Transpose of a 4-byte tensor up to rank 8: a gather with permuted strides (cm_strided). */
function transpose(args: KernelArgs): TensorInfo | TensorInfo[] {
  const x = args.inputs.x as TensorInfo;
  const perm = (args.attrs?.perm as number[]) ?? [];
  if (!isWord(x) || x.shape.length > 8 || perm.length !== x.shape.length) return fallback('Transpose', args);
  const st = strides(x.shape);
  return strided(args.backend, x, perm.map((p) => x.shape[p]), perm.map((p) => st[p]), 0);
}

export const transposeConfig: KernelConfig = { kernelName: 'Transpose', backendName: 'cuda', kernelFunc: transpose as unknown as KernelConfig['kernelFunc'] };
