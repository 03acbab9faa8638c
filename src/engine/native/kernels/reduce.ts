import type { KernelConfig, TensorInfo } from '@tensorflow/tfjs-core';
import * as tf from '@tensorflow/tfjs-core';
import { addon } from '../addon.js';
import { allocF32 } from '../pool.js';
import { f32, fallback, size, type KernelArgs } from '../util.js';
import { REDUCE_OPS } from '../../op-codes.js';

/**
 * Sum / Mean / Max / Min / Prod of float32 over one contiguous run of axes (the last axis, the
 * batch axis of a bias gradient, a middle axis...), viewed as [outer, R, inner]. Scattered axis
 * sets and other dtypes go to the CPU kernel.
 */

function reduce(name: string, op: number, axisAttr: string, args: KernelArgs): TensorInfo | TensorInfo[] {
  const x = args.inputs.x as TensorInfo;
  const attrs = args.attrs ?? {};
  if (x.dtype !== 'float32') return fallback(name, args);
  const axes = tf.util.parseAxisParam(attrs[axisAttr] as number | number[], x.shape).sort((p, q) => p - q);
  if (axes.length === 0) return fallback(name, args);
  for (let i = 1; i < axes.length; i++) if (axes[i] !== axes[i - 1] + 1) return fallback(name, args);
  const first = axes[0], last = axes[axes.length - 1];
  const outer = size(x.shape.slice(0, first)), R = size(x.shape.slice(first, last + 1)), inner = size(x.shape.slice(last + 1));
  const outShape = attrs.keepDims
    ? x.shape.map((d, i) => (i >= first && i <= last ? 1 : d))
    : x.shape.filter((_, i) => i < first || i > last);
  // Empty reductions keep tfjs's own conventions (e.g. the mean of nothing).
  if (R === 0 || outer * inner === 0) return fallback(name, args);
  const out = allocF32(outer * inner);
  if (out.length > 0) addon().reduce(op, f32(args.backend, x), out, outer, R, inner);
  return args.backend.makeTensorInfo(outShape, 'float32', out);
}

export const reduceConfigs: KernelConfig[] = Object.entries(REDUCE_OPS).map(([kernelName, { op, axisAttr }]) => ({
  kernelName,
  backendName: 'native',
  kernelFunc: ((args: KernelArgs) => reduce(kernelName, op, axisAttr, args)) as unknown as KernelConfig['kernelFunc'],
}));
