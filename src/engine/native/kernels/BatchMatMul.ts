import type { KernelConfig, TensorInfo } from '@tensorflow/tfjs-core';
import { addon } from '../addon.js';
import { allocF32 } from '../pool.js';
import { f32, fallback, type KernelArgs } from '../util.js';
import { planMatMul } from '../../matmul-plan.js';

/**
 * Batched sgemm for BatchMatMul and _FusedMatMul (what it handles: matmul-plan.ts), the bias and
 * activation fused after the product in one addon call. Returns undefined for what it does not
 * handle (the caller falls back to the CPU).
 */
export function nativeMatMul(args: KernelArgs, bias?: TensorInfo, activation = 'linear', alpha = 0.2): TensorInfo | undefined {
  const a = args.inputs.a as TensorInfo, b = args.inputs.b as TensorInfo;
  const p = planMatMul(a, b, args.attrs ?? {}, bias, activation);
  if (!p) return undefined;
  const out = allocF32(p.batch * p.M * p.N);
  if (out.length > 0) {
    addon().matmul(f32(args.backend, a), f32(args.backend, b), out, p.batch, p.M, p.N, p.K, p.tA, p.tB,
      p.strideA, p.strideB, bias ? f32(args.backend, bias) : null, p.biasKind, p.act, alpha);
  }
  return args.backend.makeTensorInfo(p.outShape, 'float32', out);
}

function batchMatMul(args: KernelArgs): TensorInfo | TensorInfo[] {
  return nativeMatMul(args) ?? fallback('BatchMatMul', args);
}

export const batchMatMulConfig: KernelConfig = {
  kernelName: 'BatchMatMul',
  backendName: 'native',
  kernelFunc: batchMatMul as unknown as KernelConfig['kernelFunc'],
};
