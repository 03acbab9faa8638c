import type { KernelConfig, TensorInfo } from '@tensorflow/tfjs-core';
import { addon } from '../addon.js';
import { allocF32 } from '../pool.js';
import { broadcastPlan, f32, fallback, size, type KernelArgs } from '../util.js';
import { BINARY_OPS } from '../../op-codes.js';

/**
 * Element-wise binary kernels with broadcasting (row, column, scalar and general), float32 in;
 * float32 out, or bool for comparisons. Other dtypes go to the CPU kernel. Op codes:
 * ../../op-codes.ts.
 */

export function binaryOp(name: string, op: number, args: KernelArgs): TensorInfo | TensorInfo[] {
  const a = args.inputs.a as TensorInfo, b = args.inputs.b as TensorInfo;
  if (a.dtype !== 'float32' || b.dtype !== 'float32') return fallback(name, args);
  const plan = broadcastPlan(a.shape, b.shape);
  const n = size(plan.outShape);
  const isCmp = op >= 10;
  const out = isCmp ? new Uint8Array(n) : allocF32(n);
  if (n > 0) addon().binary(op, f32(args.backend, a), f32(args.backend, b), out, plan.dims, plan.sa, plan.sb);
  return args.backend.makeTensorInfo(plan.outShape.slice(), isCmp ? 'bool' : 'float32', out);
}

export const binaryConfigs: KernelConfig[] = Object.entries(BINARY_OPS).map(([kernelName, op]) => ({
  kernelName,
  backendName: 'native',
  kernelFunc: ((args: KernelArgs) => binaryOp(kernelName, op, args)) as unknown as KernelConfig['kernelFunc'],
}));
