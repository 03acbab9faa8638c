import type { KernelConfig, TensorInfo } from '@tensorflow/tfjs-core';
import { addon } from '../addon.js';
import { zerosF32 } from '../pool.js';
import { f32, fallback, i32, size, type KernelArgs } from '../util.js';

/**
 * UnsortedSegmentSum (the gradient of a gather): scatter-adds each row into its segment, O(ids ×
 * row width). tfjs's CPU kernel instead compares every id with every segment.
 */
function unsortedSegmentSum(args: KernelArgs): TensorInfo | TensorInfo[] {
  const x = args.inputs.x as TensorInfo, ids = args.inputs.segmentIds as TensorInfo;
  const numSegments = Number(args.attrs?.numSegments);
  if (x.dtype !== 'float32' || ids.dtype !== 'int32') return fallback('UnsortedSegmentSum', args);
  const idRank = ids.shape.length;
  const innerShape = x.shape.slice(idRank);
  const inner = size(innerShape);
  const out = zerosF32(numSegments * inner);
  if (out.length > 0 && size(ids.shape) > 0) addon().segmentSum(f32(args.backend, x), i32(args.backend, ids), out, numSegments, inner);
  return args.backend.makeTensorInfo([numSegments, ...innerShape], 'float32', out);
}

export const unsortedSegmentSumConfig: KernelConfig = {
  kernelName: 'UnsortedSegmentSum',
  backendName: 'native',
  kernelFunc: unsortedSegmentSum as unknown as KernelConfig['kernelFunc'],
};
