import type { KernelConfig, TensorInfo } from '@tensorflow/tfjs-core';
import * as tf from '@tensorflow/tfjs-core';
import { fallback, isWord, size, type KernelArgs } from '../util.js';

/**
 * GatherV2 along any axis (batchDims 0) of a 4-byte tensor (cm_gather). Indices the host holds
 * (written from the host, as a batch's are) are checked first, with the CPU kernel's message; an
 * index computed on the device and out of range gathers zeros.
 */
function gatherV2(args: KernelArgs): TensorInfo | TensorInfo[] {
  const x = args.inputs.x as TensorInfo, indices = args.inputs.indices as TensorInfo;
  const attrs = args.attrs ?? {};
  if (!isWord(x) || indices.dtype !== 'int32' || Number(attrs.batchDims ?? 0) !== 0) return fallback('GatherV2', args);
  const axis = tf.util.parseAxisParam(attrs.axis as number, x.shape)[0];
  const N = x.shape[axis];
  const host = args.backend.hostValues(indices);
  if (host && host.length > 0) {
    const [lo, hi] = args.backend.device.indexRange(host);
    if (lo < 0 || hi >= N) {
      const v = host.find((i) => i < 0 || i >= N);
      throw new Error(`GatherV2: the index value ${v} is not in [0, ${N - 1}]`);
    }
  }
  const outShape = [...x.shape.slice(0, axis), ...indices.shape, ...x.shape.slice(axis + 1)];
  const out = args.backend.makeOutput(outShape, x.dtype);
  const inner = size(x.shape.slice(axis + 1)), nIdx = size(indices.shape);
  const b = args.backend;
  b.device.launch('cm_gather', size(outShape), [b.ptr(x), b.ptr(indices), b.ptr(out)], [N, inner, nIdx]);
  return out;
}

export const gatherV2Config: KernelConfig = { kernelName: 'GatherV2', backendName: 'cuda', kernelFunc: gatherV2 as unknown as KernelConfig['kernelFunc'] };
