import type { KernelConfig, TensorInfo } from '@tensorflow/tfjs-core';
import * as tf from '@tensorflow/tfjs-core';
import { fallback, size, type KernelArgs } from '../util.js';

/** ArgMax / ArgMin of float32 along one axis (cm_argminmax): the first index of the extreme value. */
function argMinMax(name: string, isMin: number, args: KernelArgs): TensorInfo | TensorInfo[] {
  const x = args.inputs.x as TensorInfo;
  if (x.dtype !== 'float32' || x.shape.length === 0) return fallback(name, args);
  const axis = tf.util.parseAxisParam(args.attrs?.axis as number, x.shape)[0];
  const R = x.shape[axis];
  if (R === 0 || size(x.shape) === 0) return fallback(name, args);
  const outer = size(x.shape.slice(0, axis)), inner = size(x.shape.slice(axis + 1));
  const out = args.backend.makeOutput(x.shape.filter((_, i) => i !== axis), 'int32');
  args.backend.device.launch('cm_argminmax', outer * inner, [args.backend.ptr(x), args.backend.ptr(out)], [isMin, outer, R, inner]);
  return out;
}

export const argMaxConfig: KernelConfig = {
  kernelName: 'ArgMax', backendName: 'cuda', kernelFunc: ((args: KernelArgs) => argMinMax('ArgMax', 0, args)) as unknown as KernelConfig['kernelFunc'],
};
export const argMinConfig: KernelConfig = {
  kernelName: 'ArgMin', backendName: 'cuda', kernelFunc: ((args: KernelArgs) => argMinMax('ArgMin', 1, args)) as unknown as KernelConfig['kernelFunc'],
};
