import type { KernelConfig, TensorInfo } from '@tensorflow/tfjs-core';
import { addon } from '../addon.js';
import { allocF32 } from '../pool.js';
import { f32, fallback, type KernelArgs } from '../util.js';
import { UNARY_OPS } from '../../op-codes.js';

/**
 * Element-wise unary kernels on float32 (other dtypes go to the CPU kernel). Op codes and
 * the scalar parameters some ops take: ../../op-codes.ts.
 */

export function unaryOp(name: string, op: number, args: KernelArgs, alpha = 0, beta = 0): TensorInfo | TensorInfo[] {
  const x = args.inputs.x as TensorInfo;
  if (x.dtype !== 'float32') return fallback(name, args);
  const xv = f32(args.backend, x);
  const out = allocF32(xv.length);
  if (xv.length > 0) addon().unary(op, xv, out, alpha, beta);
  return args.backend.makeTensorInfo(x.shape, 'float32', out);
}

export const unaryConfigs: KernelConfig[] = Object.entries(UNARY_OPS).map(([kernelName, spec]) => ({
  kernelName,
  backendName: 'native',
  kernelFunc: ((args: KernelArgs) => {
    const [alpha, beta] = spec.attrs ? spec.attrs(args.attrs ?? {}) : [0, 0];
    return unaryOp(kernelName, spec.op, args, alpha, beta);
  }) as unknown as KernelConfig['kernelFunc'],
}));
