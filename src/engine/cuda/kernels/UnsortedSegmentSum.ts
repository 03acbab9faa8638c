import type { KernelConfig, TensorInfo } from '@tensorflow/tfjs-core';
import { fallback, fill, size, type KernelArgs } from '../util.js';

/**
 * UnsortedSegmentSum (the gradient of a gather): zero the output, then scatter-add each row into
 * its segment (cm_segment_sum: atomicAdd on the GPU, a plain add on the sequential shim).
 */
function unsortedSegmentSum(args: KernelArgs): TensorInfo | TensorInfo[] {
  const x = args.inputs.x as TensorInfo, ids = args.inputs.segmentIds as TensorInfo;
  const numSegments = Number(args.attrs?.numSegments);
  if (x.dtype !== 'float32' || ids.dtype !== 'int32') return fallback('UnsortedSegmentSum', args);
  const innerShape = x.shape.slice(ids.shape.length);
  const inner = size(innerShape);
  const out = fill(args.backend, [numSegments, ...innerShape], 'float32', 0);
  const b = args.backend;
  const n = size(ids.shape) * inner;
  if (n > 0 && numSegments * inner > 0) b.device.launch('cm_segment_sum', n, [b.ptr(x), b.ptr(ids), b.ptr(out)], [numSegments, inner]);
  return out;
}

export const unsortedSegmentSumConfig: KernelConfig = {
  kernelName: 'UnsortedSegmentSum',
  backendName: 'cuda',
  kernelFunc: unsortedSegmentSum as unknown as KernelConfig['kernelFunc'],
};
