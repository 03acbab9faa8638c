import type { DataType, KernelConfig, TensorInfo } from '@tensorflow/tfjs-core';
import { fallback, fill, type KernelArgs } from '../util.js';

/** Fill, ZerosLike, OnesLike (cm_fill: every word set to the value's bits). */
function fillKernel(args: KernelArgs): TensorInfo | TensorInfo[] {
  const dtype = (args.attrs?.dtype as DataType | undefined) ?? 'float32';
  if (dtype !== 'float32' && dtype !== 'int32' && dtype !== 'bool') return fallback('Fill', args);
  return fill(args.backend, args.attrs?.shape as number[], dtype, Number(args.attrs?.value));
}

function like(name: string, value: number) {
  return (args: KernelArgs): TensorInfo | TensorInfo[] => {
    const x = args.inputs.x as TensorInfo;
    if (x.dtype !== 'float32' && x.dtype !== 'int32' && x.dtype !== 'bool') return fallback(name, args);
    return fill(args.backend, x.shape, x.dtype, value);
  };
}

const k = (kernelName: string, f: (a: KernelArgs) => TensorInfo | TensorInfo[]): KernelConfig =>
  ({ kernelName, backendName: 'cuda', kernelFunc: f as unknown as KernelConfig['kernelFunc'] });

export const fillConfigs: KernelConfig[] = [k('Fill', fillKernel), k('ZerosLike', like('ZerosLike', 0)), k('OnesLike', like('OnesLike', 1))];
