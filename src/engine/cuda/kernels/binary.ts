import type { KernelConfig, TensorInfo } from '@tensorflow/tfjs-core';
import { broadcastPlan } from '../../native/util.js';
import { fallback, size, type KernelArgs } from '../util.js';
import { BINARY_OPS } from '../../op-codes.js';

/**
 * Element-wise binary kernels with broadcasting (cm_binary): float32 in; float32 out, or bool for
 * comparisons. The broadcast plan (collapsed dims, per-operand strides) is the native engine's.
 * Op codes: ../../op-codes.ts.
 */

export function binaryInto(args: KernelArgs, op: number, a: TensorInfo, b: TensorInfo, out?: TensorInfo): TensorInfo {
  const plan = broadcastPlan(a.shape, b.shape);
  const n = size(plan.outShape);
  const o = out ?? args.backend.makeOutput(plan.outShape.slice(), op >= 10 ? 'bool' : 'float32');
  if (n > 0) {
    const r = plan.dims.length;
    const ints = new Array<number>(26).fill(0);
    ints[0] = op;
    ints[1] = r;
    for (let d = 0; d < r; d++) {
      ints[2 + d] = plan.dims[d];
      ints[10 + d] = plan.sa[d];
      ints[18 + d] = plan.sb[d];
    }
    args.backend.device.launch('cm_binary', n, [args.backend.ptr(a), args.backend.ptr(b), args.backend.ptr(o)], ints);
  }
  return o;
}

function binary(name: string, op: number, args: KernelArgs): TensorInfo | TensorInfo[] {
  const a = args.inputs.a as TensorInfo, b = args.inputs.b as TensorInfo;
  if (a.dtype !== 'float32' || b.dtype !== 'float32' || broadcastPlan(a.shape, b.shape).dims.length > 8) return fallback(name, args);
  return binaryInto(args, op, a, b);
}

/** LogicalAnd / LogicalOr / LogicalNot of bools (ops 20-22 of cm_binary, on int32 0/1). */
function logical(name: string, op: number, args: KernelArgs): TensorInfo | TensorInfo[] {
  const a = (args.inputs.a ?? args.inputs.x) as TensorInfo, b = (args.inputs.b ?? a) as TensorInfo;
  if (a.dtype !== 'bool' || b.dtype !== 'bool' || broadcastPlan(a.shape, b.shape).dims.length > 8) return fallback(name, args);
  return binaryInto(args, op, a, b);
}

const LOGICAL: Record<string, number> = { LogicalAnd: 20, LogicalOr: 21, LogicalNot: 22 };

export const binaryConfigs: KernelConfig[] = [
  ...Object.entries(BINARY_OPS).map(([kernelName, op]) => ({
    kernelName,
    backendName: 'cuda',
    kernelFunc: ((args: KernelArgs) => binary(kernelName, op, args)) as unknown as KernelConfig['kernelFunc'],
  })),
  ...Object.entries(LOGICAL).map(([kernelName, op]) => ({
    kernelName,
    backendName: 'cuda',
    kernelFunc: ((args: KernelArgs) => logical(kernelName, op, args)) as unknown as KernelConfig['kernelFunc'],
  })),
];
