import type { KernelConfig, TensorInfo } from '@tensorflow/tfjs-core';
import { addon } from '../addon.js';
import { alloc, fallback, is4Byte, size, words, type KernelArgs } from '../util.js';

/** Transpose of a float32/int32 tensor up to rank 8 (the identity permutation is one memcpy). */
function transpose(args: KernelArgs): TensorInfo | TensorInfo[] {
  const x = args.inputs.x as TensorInfo;
  const perm = (args.attrs?.perm as number[]) ?? [];
  if (!is4Byte(x) || x.shape.length > 8 || perm.length !== x.shape.length) return fallback('Transpose', args);
  const outShape = perm.map((p) => x.shape[p]);
  const out = alloc(x.dtype, size(outShape)) as Float32Array | Int32Array;
  if (out.length > 0) addon().transpose(words(args.backend, x), out, Int32Array.from(x.shape), Int32Array.from(perm));
  return args.backend.makeTensorInfo(outShape, x.dtype, out);
}

export const transposeConfig: KernelConfig = { kernelName: 'Transpose', backendName: 'native', kernelFunc: transpose as unknown as KernelConfig['kernelFunc'] };
