import type { KernelConfig, TensorInfo } from '@tensorflow/tfjs-core';
import { addon } from '../addon.js';
import { alloc, fallback, is4Byte, size, words, type KernelArgs } from '../util.js';

/** Tile of a float32/int32 tensor up to rank 8. */
function tile(args: KernelArgs): TensorInfo | TensorInfo[] {
  const x = args.inputs.x as TensorInfo;
  const reps = (args.attrs?.reps as number[]) ?? [];
  if (!is4Byte(x) || x.shape.length > 8 || x.shape.length === 0 || reps.length !== x.shape.length) return fallback('Tile', args);
  const outShape = x.shape.map((d, i) => d * reps[i]);
  const out = alloc(x.dtype, size(outShape)) as Float32Array | Int32Array;
  if (out.length > 0) addon().tile(words(args.backend, x), out, Int32Array.from(x.shape), Int32Array.from(reps));
  return args.backend.makeTensorInfo(outShape, x.dtype, out);
}

export const tileConfig: KernelConfig = { kernelName: 'Tile', backendName: 'native', kernelFunc: tile as unknown as KernelConfig['kernelFunc'] };
