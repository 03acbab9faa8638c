import type { KernelConfig, TensorInfo } from '@tensorflow/tfjs-core';
import * as tf from '@tensorflow/tfjs-core';
import { addon } from '../addon.js';
import { allocF32 } from '../pool.js';
import { f32, fallback, size, type KernelArgs } from '../util.js';

export const ACT: Record<string, number> = { linear: 0, relu: 1, sigmoid: 2, elu: 3, leakyrelu: 4, relu6: 5 };

/**
 * Batched sgemm for BatchMatMul and _FusedMatMul: all transpose combinations, a batch of 1 on
 * either side broadcast, optional bias (scalar, row, column or full) and activation fused after
 * the product. Returns undefined for what it does not handle (the caller falls back to the CPU).
 */
export function nativeMatMul(args: KernelArgs, bias?: TensorInfo, activation = 'linear', alpha = 0.2): TensorInfo | undefined {
  const a = args.inputs.a as TensorInfo, b = args.inputs.b as TensorInfo;
  const attrs = args.attrs ?? {};
  const tA = Boolean(attrs.transposeA), tB = Boolean(attrs.transposeB);
  if (a.dtype !== 'float32' || b.dtype !== 'float32' || a.shape.length < 2 || b.shape.length < 2) return undefined;
  const ra = a.shape.length, rb = b.shape.length;
  const K = tA ? a.shape[ra - 2] : a.shape[ra - 1];
  const K2 = tB ? b.shape[rb - 1] : b.shape[rb - 2];
  const M = tA ? a.shape[ra - 1] : a.shape[ra - 2];
  const N = tB ? b.shape[rb - 2] : b.shape[rb - 1];
  if (K !== K2) return undefined;
  const outerA = a.shape.slice(0, -2), outerB = b.shape.slice(0, -2);
  const batchA = size(outerA), batchB = size(outerB);
  if (batchA !== batchB && batchA !== 1 && batchB !== 1) return undefined;
  const act = ACT[activation];
  if (act === undefined) return undefined;
  const batch = Math.max(batchA, batchB);
  const outShape = [...tf.backend_util.assertAndGetBroadcastShape(outerA, outerB), M, N];
  let biasKind = 0;
  let biasVals: Float32Array | null = null;
  if (bias) {
    if (bias.dtype !== 'float32') return undefined;
    const bs = bias.shape, n = size(bs);
    if (n === 1) biasKind = 1;
    else if (n === N && bs[bs.length - 1] === N) biasKind = 2;
    else if (n === M && bs[bs.length - 1] === 1 && bs[bs.length - 2] === M) biasKind = 3;
    else if (n === M * N && bs[bs.length - 1] === N && bs[bs.length - 2] === M) biasKind = 4;
    else if (n === batch * M * N && bs[bs.length - 1] === N) biasKind = 5;
    else return undefined;
    biasVals = f32(args.backend, bias);
  }
  const out = allocF32(batch * M * N);
  if (out.length > 0) {
    addon().matmul(f32(args.backend, a), f32(args.backend, b), out, batch, M, N, K, tA, tB,
      batchA === 1 ? 0 : M * K, batchB === 1 ? 0 : K * N, biasVals, biasKind, act, alpha);
  }
  return args.backend.makeTensorInfo(outShape, 'float32', out);
}

function batchMatMul(args: KernelArgs): TensorInfo | TensorInfo[] {
  return nativeMatMul(args) ?? fallback('BatchMatMul', args);
}

export const batchMatMulConfig: KernelConfig = {
  kernelName: 'BatchMatMul',
  backendName: 'native',
  kernelFunc: batchMatMul as unknown as KernelConfig['kernelFunc'],
};
