import type { KernelConfig, TensorInfo } from '@tensorflow/tfjs-core';
import * as tf from '@tensorflow/tfjs-core';
import { copy2d, fallback, isWord, size, type KernelArgs } from '../util.js';

/**
 * Concat along any axis: viewed as [outer, width_i] blocks, one cm_copy2d per input into its
 * column range of the [outer, Σ width_i] output. Also Pack (tf.stack: a concat of the inputs
 * expanded at the axis).
 */
export function concatInto(args: KernelArgs, ts: TensorInfo[], axis: number, outShape: number[]): TensorInfo {
  const out = args.backend.makeOutput(outShape, ts[0].dtype);
  const outer = size(outShape.slice(0, axis));
  const W = size(outShape.slice(axis));
  let off = 0;
  for (const t of ts) {
    const w = size(t.shape.slice(axis));
    copy2d(args.backend, t, out, outer, w, w, W, 0, off);
    off += w;
  }
  return out;
}

function concat(args: KernelArgs): TensorInfo | TensorInfo[] {
  // tfjs passes Concat's inputs as the array of tensors itself.
  const all = args.inputs as unknown as TensorInfo[];
  if (all.length === 0 || !all.every(isWord) || all.some((t) => t.dtype !== all[0].dtype)) return fallback('Concat', args);
  const axis = tf.util.parseAxisParam(args.attrs?.axis as number, all[0].shape)[0];
  const outShape = tf.backend_util.computeOutShape(all.map((t) => t.shape), axis);
  return concatInto(args, all.filter((t) => size(t.shape) > 0), axis, outShape);
}

export const concatConfig: KernelConfig = { kernelName: 'Concat', backendName: 'cuda', kernelFunc: concat as unknown as KernelConfig['kernelFunc'] };

function pack(args: KernelArgs): TensorInfo | TensorInfo[] {
  const all = args.inputs as unknown as TensorInfo[];
  if (all.length === 0 || !all.every(isWord) || all.some((t) => t.dtype !== all[0].dtype || t.shape.join() !== all[0].shape.join())) return fallback('Pack', args);
  const axis = tf.util.parseAxisParam(Number(args.attrs?.axis ?? 0), [...all[0].shape, 1])[0];
  const expanded = all.map((t) => ({ ...t, shape: [...t.shape.slice(0, axis), 1, ...t.shape.slice(axis)] }));
  const outShape = [...all[0].shape.slice(0, axis), all.length, ...all[0].shape.slice(axis)];
  return concatInto(args, expanded, axis, outShape);
}

export const packConfig: KernelConfig = { kernelName: 'Pack', backendName: 'cuda', kernelFunc: pack as unknown as KernelConfig['kernelFunc'] };
