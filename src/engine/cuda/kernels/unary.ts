import type { KernelConfig, TensorInfo } from '@tensorflow/tfjs-core';
import { fallback, size, type KernelArgs } from '../util.js';
import { UNARY_OPS } from '../../op-codes.js';

/** Element-wise unary kernels on float32 (cm_unary); op codes: ../../op-codes.ts. */

function unary(name: string, op: number, args: KernelArgs, alpha: number, beta: number): TensorInfo | TensorInfo[] {
  const x = args.inputs.x as TensorInfo;
  if (x.dtype !== 'float32') return fallback(name, args);
  const out = args.backend.makeOutput(x.shape, 'float32');
  args.backend.device.launch('cm_unary', size(x.shape), [args.backend.ptr(x), args.backend.ptr(out)], [op], [alpha, beta]);
  return out;
}

export const unaryConfigs: KernelConfig[] = Object.entries(UNARY_OPS).map(([kernelName, spec]) => ({
  kernelName,
  backendName: 'cuda',
  kernelFunc: ((args: KernelArgs) => {
    const [alpha, beta] = spec.attrs ? spec.attrs(args.attrs ?? {}) : [0, 0];
    return unary(kernelName, spec.op, args, alpha, beta);
  }) as unknown as KernelConfig['kernelFunc'],
}));
