import type { KernelConfig, TensorInfo } from '@tensorflow/tfjs-core';
import * as tf from '@tensorflow/tfjs-core';
import { copy2d, fallback, isWord, size, type KernelArgs } from '../util.js';

/** Pieces of x along `axis` of the given sizes: one cm_copy2d each (SplitV, the gradient of Concat; Unpack). */
export function splitPieces(args: KernelArgs, x: TensorInfo, axis: number, sizes: number[]): TensorInfo[] {
  const outer = size(x.shape.slice(0, axis));
  const inner = size(x.shape.slice(axis + 1));
  const W = x.shape[axis] * inner;
  let off = 0;
  return sizes.map((s) => {
    const outShape = x.shape.slice();
    outShape[axis] = s;
    const out = args.backend.makeOutput(outShape, x.dtype);
    copy2d(args.backend, x, out, outer, s * inner, W, s * inner, off, 0);
    off += s * inner;
    return out;
  });
}

function splitV(args: KernelArgs): TensorInfo | TensorInfo[] {
  const x = args.inputs.x as TensorInfo;
  if (!isWord(x) || x.shape.length === 0) return fallback('SplitV', args);
  const axis = tf.util.parseAxisParam(args.attrs?.axis as number, x.shape)[0];
  const sizes = tf.backend_util.prepareSplitSize(x as unknown as tf.Tensor, args.attrs?.numOrSizeSplits as number | number[], axis);
  return splitPieces(args, x, axis, sizes);
}

export const splitVConfig: KernelConfig = { kernelName: 'SplitV', backendName: 'cuda', kernelFunc: splitV as unknown as KernelConfig['kernelFunc'] };

function unpack(args: KernelArgs): TensorInfo | TensorInfo[] {
  const x = args.inputs.value as TensorInfo;
  if (!isWord(x) || x.shape.length === 0) return fallback('Unpack', args);
  const axis = tf.util.parseAxisParam(Number(args.attrs?.axis ?? 0), x.shape)[0];
  const pieces = splitPieces(args, x, axis, new Array(x.shape[axis]).fill(1));
  const shape = x.shape.filter((_, i) => i !== axis);
  return pieces.map((p) => ({ ...p, shape }));
}

export const unpackConfig: KernelConfig = { kernelName: 'Unpack', backendName: 'cuda', kernelFunc: unpack as unknown as KernelConfig['kernelFunc'] };
