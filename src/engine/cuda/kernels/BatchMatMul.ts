import type { KernelConfig, TensorInfo } from '@tensorflow/tfjs-core';
import * as tf from '@tensorflow/tfjs-core';
import { fallback, fill, size, type KernelArgs } from '../util.js';

export const ACT: Record<string, number> = { linear: 0, relu: 1, sigmoid: 2, elu: 3, leakyrelu: 4, relu6: 5 };

/**
 * BatchMatMul and _FusedMatMul: GEMM (cuBLAS strided-batched on the GPU, sgemm on the shim) with
 * all transpose combinations and a batch of 1 on either side broadcast (stride 0), then the bias
 * (scalar, row, column, full) and activation in one cm_bias_act pass. Undefined for what it does
 * not handle (the caller falls back).
 */
export function cudaMatMul(args: KernelArgs, bias?: TensorInfo, activation = 'linear', alpha = 0.2): TensorInfo | undefined {
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
  if (bias) {
    if (bias.dtype !== 'float32') return undefined;
    const bs = bias.shape, n = size(bs);
    if (n === 1) biasKind = 1;
    else if (n === N && bs[bs.length - 1] === N) biasKind = 2;
    else if (n === M && bs[bs.length - 1] === 1 && bs[bs.length - 2] === M) biasKind = 3;
    else if (n === M * N && bs[bs.length - 1] === N && bs[bs.length - 2] === M) biasKind = 4;
    else if (n === batch * M * N && bs[bs.length - 1] === N) biasKind = 5;
    else return undefined;
  }
  const be = args.backend;
  const total = batch * M * N;
  if (total === 0) return be.makeOutput(outShape, 'float32');
  // K = 0: the product of empty matrices is zeros (then bias and activation)
  const out = K === 0 ? fill(be, outShape, 'float32', 0) : be.makeOutput(outShape, 'float32');
  if (K > 0) be.device.gemm(be.ptr(a), be.ptr(b), be.ptr(out), batch, M, N, K, tA, tB, batchA === 1 ? 0 : M * K, batchB === 1 ? 0 : K * N);
  if (biasKind !== 0 || act !== 0) {
    be.device.launch('cm_bias_act', total, [be.ptr(out), bias ? be.ptr(bias) : 0], [M, N, biasKind, act], [alpha]);
  }
  return out;
}

function batchMatMul(args: KernelArgs): TensorInfo | TensorInfo[] {
  return cudaMatMul(args) ?? fallback('BatchMatMul', args);
}

export const batchMatMulConfig: KernelConfig = { kernelName: 'BatchMatMul', backendName: 'cuda', kernelFunc: batchMatMul as unknown as KernelConfig['kernelFunc'] };

/** _FusedMatMul (tf.fused.matMul): PReLU goes to the CPU kernel. */
function fusedMatMul(args: KernelArgs): TensorInfo | TensorInfo[] {
  const attrs = args.attrs ?? {};
  if (args.inputs.preluActivationWeights) return fallback('_FusedMatMul', args);
  const r = cudaMatMul(args, args.inputs.bias as TensorInfo | undefined, String(attrs.activation ?? 'linear'), Number(attrs.leakyreluAlpha ?? 0.2));
  return r ?? fallback('_FusedMatMul', args);
}

export const fusedMatMulConfig: KernelConfig = { kernelName: '_FusedMatMul', backendName: 'cuda', kernelFunc: fusedMatMul as unknown as KernelConfig['kernelFunc'] };
