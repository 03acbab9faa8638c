import type { KernelConfig, TensorInfo } from '@tensorflow/tfjs-core';
import { fallback, fill, type KernelArgs } from '../util.js';
import { planMatMul } from '../../matmul-plan.js';

/**
 * BatchMatMul and _FusedMatMul (what they handle: matmul-plan.ts): GEMM (cuBLAS strided-batched on
 * the GPU, sgemm on the shim), then the bias and activation in one cm_bias_act pass. Undefined for
 * what it does not handle (the caller falls back).
 */
export function cudaMatMul(args: KernelArgs, bias?: TensorInfo, activation = 'linear', alpha = 0.2): TensorInfo | undefined {
  const a = args.inputs.a as TensorInfo, b = args.inputs.b as TensorInfo;
  const p = planMatMul(a, b, args.attrs ?? {}, bias, activation);
  if (!p) return undefined;
  const be = args.backend;
  const total = p.batch * p.M * p.N;
  if (total === 0) return be.makeOutput(p.outShape, 'float32');
  // K = 0: the product of empty matrices is zeros (then bias and activation)
  const out = p.K === 0 ? fill(be, p.outShape, 'float32', 0) : be.makeOutput(p.outShape, 'float32');
  if (p.K > 0) be.device.gemm(be.ptr(a), be.ptr(b), be.ptr(out), p.batch, p.M, p.N, p.K, p.tA, p.tB, p.strideA, p.strideB);
  if (p.biasKind !== 0 || p.act !== 0) {
    be.device.launch('cm_bias_act', total, [be.ptr(out), bias ? be.ptr(bias) : 0], [p.M, p.N, p.biasKind, p.act], [alpha]);
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
