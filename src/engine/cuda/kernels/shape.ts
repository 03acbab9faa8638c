import type { KernelConfig, TensorInfo } from '@tensorflow/tfjs-core';
import * as tf from '@tensorflow/tfjs-core';
import { alias, type KernelArgs } from '../util.js';

/** Kernels that only change a tensor's shape share its device buffer (refcount + 1), as tfjs's CPU ones do. */
function reshape(args: KernelArgs): TensorInfo {
  const x = args.inputs.x as TensorInfo;
  const shape = tf.util.inferFromImplicitShape(args.attrs?.shape as number[], tf.util.sizeFromShape(x.shape));
  return alias(args.backend, x, shape);
}

function expandDims(args: KernelArgs): TensorInfo {
  const x = args.inputs.input as TensorInfo;
  let dim = Number(args.attrs?.dim ?? 0);
  if (dim < 0) dim += x.shape.length + 1;
  return alias(args.backend, x, [...x.shape.slice(0, dim), 1, ...x.shape.slice(dim)]);
}

function squeeze(args: KernelArgs): TensorInfo {
  const x = args.inputs.x as TensorInfo;
  const axis = args.attrs?.axis as number[] | undefined;
  return alias(args.backend, x, tf.util.squeezeShape(x.shape, axis?.length ? tf.util.parseAxisParam(axis, x.shape) : undefined).newShape);
}

function identity(args: KernelArgs): TensorInfo {
  const x = args.inputs.x as TensorInfo;
  return alias(args.backend, x, x.shape);
}

const k = (kernelName: string, f: (a: KernelArgs) => TensorInfo): KernelConfig =>
  ({ kernelName, backendName: 'cuda', kernelFunc: f as unknown as KernelConfig['kernelFunc'] });

export const shapeConfigs: KernelConfig[] = [k('Reshape', reshape), k('ExpandDims', expandDims), k('Squeeze', squeeze), k('Identity', identity)];
