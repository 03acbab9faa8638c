import type { KernelConfig, TensorInfo } from '@tensorflow/tfjs-core';
import { fallback, size, type KernelArgs } from '../util.js';

/** Element-wise unary kernels on float32 (cm_unary); op codes match native/cuda/kernels/elementwise.cu. */
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

function unary(name: string, op: number, args: KernelArgs, alpha: number, beta: number): TensorInfo | TensorInfo[] {
  const x = args.inputs.x as TensorInfo;
  if (x.dtype !== 'float32') return fallback(name, args);
  const out = args.backend.makeOutput(x.shape, 'float32');
  args.backend.device.launch('cm_unary', size(x.shape), [args.backend.ptr(x), args.backend.ptr(out)], [op], [alpha, beta]);
  return out;
}

export const unaryConfigs: KernelConfig[] = Object.entries(OPS).map(([kernelName, spec]) => ({
  kernelName,
  backendName: 'cuda',
  kernelFunc: ((args: KernelArgs) => {
    const [alpha, beta] = spec.attrs ? spec.attrs(args.attrs ?? {}) : [0, 0];
    return unary(kernelName, spec.op, args, alpha, beta);
  }) as unknown as KernelConfig['kernelFunc'],
}));
