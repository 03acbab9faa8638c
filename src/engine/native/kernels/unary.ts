import type { KernelConfig, TensorInfo } from '@tensorflow/tfjs-core';
import { addon } from '../addon.js';
import { allocF32 } from '../pool.js';
import { f32, fallback, type KernelArgs } from '../util.js';

/**
 * Element-wise unary kernels on float32 (other dtypes go to the CPU kernel). Op codes match
 * native/engine/elementwise.cc; `attrs` picks the scalar parameters some ops take.
 */
const OPS: Record<string, { op: number; attrs?: (a: Record<string, unknown>) => [number, number] }> = {
  Relu: { op: 0 },
  Sigmoid: { op: 1 },
  Exp: { op: 2 },
  Log: { op: 3 },
  Log1p: { op: 4 },
  Softplus: { op: 5 },
  Neg: { op: 6 },
  Square: { op: 7 },
  Sqrt: { op: 8 },
  Rsqrt: { op: 9 },
  Abs: { op: 10 },
  Tanh: { op: 11 },
  Step: { op: 12, attrs: (a) => [Number(a.alpha ?? 0), 0] },
  Reciprocal: { op: 13 },
  Elu: { op: 14 },
  ClipByValue: { op: 15, attrs: (a) => [Number(a.clipValueMin), Number(a.clipValueMax)] },
  LeakyRelu: { op: 16, attrs: (a) => [Number(a.alpha ?? 0.2), 0] },
  Relu6: { op: 17 },
  Expm1: { op: 18 },
};

export function unaryOp(name: string, op: number, args: KernelArgs, alpha = 0, beta = 0): TensorInfo | TensorInfo[] {
  const x = args.inputs.x as TensorInfo;
  if (x.dtype !== 'float32') return fallback(name, args);
  const xv = f32(args.backend, x);
  const out = allocF32(xv.length);
  if (xv.length > 0) addon().unary(op, xv, out, alpha, beta);
  return args.backend.makeTensorInfo(x.shape, 'float32', out);
}

export const unaryConfigs: KernelConfig[] = Object.entries(OPS).map(([kernelName, spec]) => ({
  kernelName,
  backendName: 'native',
  kernelFunc: ((args: KernelArgs) => {
    const [alpha, beta] = spec.attrs ? spec.attrs(args.attrs ?? {}) : [0, 0];
    return unaryOp(kernelName, spec.op, args, alpha, beta);
  }) as unknown as KernelConfig['kernelFunc'],
}));
