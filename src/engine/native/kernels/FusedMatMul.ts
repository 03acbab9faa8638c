import type { KernelConfig, TensorInfo } from '@tensorflow/tfjs-core';
import { fallback, type KernelArgs } from '../util.js';
import { nativeMatMul } from './BatchMatMul.js';

/**
 * _FusedMatMul (tf.fused.matMul): product, bias and activation in one addon call. Its gradient is
 * tfjs's own (unfused BatchMatMul with transposes, plus a Sum for the bias), which lands on the
 * native BatchMatMul and Sum kernels. PReLU goes to the CPU kernel.
 */
function fusedMatMul(args: KernelArgs): TensorInfo | TensorInfo[] {
  const attrs = args.attrs ?? {};
  if (args.inputs.preluActivationWeights) return fallback('_FusedMatMul', args);
  const r = nativeMatMul(args, args.inputs.bias as TensorInfo | undefined, String(attrs.activation ?? 'linear'), Number(attrs.leakyreluAlpha ?? 0.2));
  return r ?? fallback('_FusedMatMul', args);
}

export const fusedMatMulConfig: KernelConfig = {
  kernelName: '_FusedMatMul',
  backendName: 'native',
  kernelFunc: fusedMatMul as unknown as KernelConfig['kernelFunc'],
};
