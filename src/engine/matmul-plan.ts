import * as tf from '@tensorflow/tfjs-core';
import type { TensorInfo } from '@tensorflow/tfjs-core';

/** Fused activation codes, as the native GEMM and the cuda cm_bias_act kernel number them. */
export const ACT: Record<string, number> = { linear: 0, relu: 1, sigmoid: 2, elu: 3, leakyrelu: 4, relu6: 5 };

/**
 * What both engines' BatchMatMul / _FusedMatMul compute, worked out from the shapes: every
 * transpose combination, a batch of 1 on either side broadcast (stride 0), a bias that is a
 * scalar (1), a row (2), a column (3), one matrix (4) or one per batch (5), then the activation.
 */
export interface MatMulPlan {
  M: number;
  N: number;
  K: number;
  batch: number;
  tA: boolean;
  tB: boolean;
  /** elements between consecutive matrices of a / b (0: one matrix, broadcast) */
  strideA: number;
  strideB: number;
  outShape: number[];
  biasKind: number;
  act: number;
}

/** The plan, or undefined for what the engines do not handle (the caller falls back to the CPU kernel). */
export function planMatMul(a: TensorInfo, b: TensorInfo, attrs: Record<string, unknown>, bias?: TensorInfo, activation = 'linear'): MatMulPlan | undefined {
  const tA = Boolean(attrs.transposeA), tB = Boolean(attrs.transposeB);
  if (a.dtype !== 'float32' || b.dtype !== 'float32' || a.shape.length < 2 || b.shape.length < 2) return undefined;
  const ra = a.shape.length, rb = b.shape.length;
  const K = tA ? a.shape[ra - 2] : a.shape[ra - 1];
  const K2 = tB ? b.shape[rb - 1] : b.shape[rb - 2];
  const M = tA ? a.shape[ra - 1] : a.shape[ra - 2];
  const N = tB ? b.shape[rb - 2] : b.shape[rb - 1];
  if (K !== K2) return undefined;
  const outerA = a.shape.slice(0, -2), outerB = b.shape.slice(0, -2);
  const batchA = tf.util.sizeFromShape(outerA), batchB = tf.util.sizeFromShape(outerB);
  if (batchA !== batchB && batchA !== 1 && batchB !== 1) return undefined;
  const act = ACT[activation];
  if (act === undefined) return undefined;
  const batch = Math.max(batchA, batchB);
  const outShape = [...tf.backend_util.assertAndGetBroadcastShape(outerA, outerB), M, N];
  let biasKind = 0;
  if (bias) {
    if (bias.dtype !== 'float32') return undefined;
    const bs = bias.shape, n = tf.util.sizeFromShape(bs);
    if (n === 1) biasKind = 1;
    else if (n === N && bs[bs.length - 1] === N) biasKind = 2;
    else if (n === M && bs[bs.length - 1] === 1 && bs[bs.length - 2] === M) biasKind = 3;
    else if (n === M * N && bs[bs.length - 1] === N && bs[bs.length - 2] === M) biasKind = 4;
    else if (n === batch * M * N && bs[bs.length - 1] === N) biasKind = 5;
    else return undefined;
  }
  return { M, N, K, batch, tA, tB, strideA: batchA === 1 ? 0 : M * K, strideB: batchB === 1 ? 0 : K * N, outShape, biasKind, act };
}
