import type { KernelConfig, TensorInfo } from '@tensorflow/tfjs-core';
import * as tf from '@tensorflow/tfjs-core';
import { fallback, size, strided, strides, type CudaBackendLike, type KernelArgs } from '../util.js';
import { REDUCE_OPS } from '../../op-codes.js';

/**
 * Sum / Mean / Max / Min / Prod of float32 (cm_reduce, one thread per output value) over any set
 * of axes: a scattered set is first transposed to the end (cm_strided). x is viewed as
 * [outer, R, inner]; a long R with few outputs (the bias gradient: [batch, units] summed over the
 * batch) is cut into chunks whose partials a second launch combines, so the GPU has threads enough.
 */

/** [first, last] of a contiguous run of axes, after moving scattered axes to the end; disposes `x` when it made it. */
export function contiguous(b: CudaBackendLike, x: TensorInfo, axes: number[]): { x: TensorInfo; first: number; last: number; temp: boolean } {
  let contiguousRun = true;
  for (let i = 1; i < axes.length; i++) if (axes[i] !== axes[i - 1] + 1) contiguousRun = false;
  if (contiguousRun) return { x, first: axes[0], last: axes[axes.length - 1], temp: false };
  const perm = tf.backend_util.getAxesPermutation(axes, x.shape.length)!;
  const st = strides(x.shape);
  const t = strided(b, x, perm.map((p) => x.shape[p]), perm.map((p) => st[p]), 0);
  const r = x.shape.length;
  return { x: t, first: r - axes.length, last: r - 1, temp: true };
}

const CHUNK = 256;

export function reduceRun(b: CudaBackendLike, op: number, x: TensorInfo, outer: number, R: number, inner: number, outShape: number[]): TensorInfo {
  const out = b.makeOutput(outShape, 'float32');
  const outputs = outer * inner;
  if (R > 4 * CHUNK && outputs < 65536) {
    const chunks = Math.ceil(R / CHUNK);
    const part = b.makeOutput([outer, chunks, inner], 'float32');
    // partials: a mean sums first; the second pass divides by the whole R
    b.device.launch('cm_reduce', outer * chunks * inner, [b.ptr(x), b.ptr(part)], [op === 1 ? 0 : op, outer, R, inner, CHUNK, chunks], [R]);
    b.device.launch('cm_reduce', outputs, [b.ptr(part), b.ptr(out)], [op, outer, chunks, inner, 0, 0], [R]);
    b.disposeIntermediateTensorInfo(part);
  } else {
    b.device.launch('cm_reduce', outputs, [b.ptr(x), b.ptr(out)], [op, outer, R, inner, 0, 0], [R]);
  }
  return out;
}

function reduce(name: string, op: number, axisAttr: string, args: KernelArgs): TensorInfo | TensorInfo[] {
  const x0 = args.inputs.x as TensorInfo;
  const attrs = args.attrs ?? {};
  if (x0.dtype !== 'float32' || x0.shape.length > 8) return fallback(name, args);
  const axes = tf.util.parseAxisParam(attrs[axisAttr] as number | number[], x0.shape).sort((p, q) => p - q);
  if (axes.length === 0) return fallback(name, args);
  const outShape = attrs.keepDims
    ? x0.shape.map((d, i) => (axes.includes(i) ? 1 : d))
    : x0.shape.filter((_, i) => !axes.includes(i));
  const R0 = size(axes.map((a) => x0.shape[a]));
  // Empty reductions keep tfjs's own conventions (e.g. the mean of nothing).
  if (R0 === 0 || size(x0.shape) === 0) return fallback(name, args);
  const { x, first, last, temp } = contiguous(args.backend, x0, axes);
  const outer = size(x.shape.slice(0, first)), R = size(x.shape.slice(first, last + 1)), inner = size(x.shape.slice(last + 1));
  const out = reduceRun(args.backend, op, x, outer, R, inner, outShape);
  if (temp) args.backend.disposeIntermediateTensorInfo(x);
  return out;
}

export const reduceConfigs: KernelConfig[] = Object.entries(REDUCE_OPS).map(([kernelName, { op, axisAttr }]) => ({
  kernelName,
  backendName: 'cuda',
  kernelFunc: ((args: KernelArgs) => reduce(kernelName, op, axisAttr, args)) as unknown as KernelConfig['kernelFunc'],
}));
