import type { KernelConfig, TensorInfo } from '@tensorflow/tfjs-core';
import { alias, fallback, size, type KernelArgs } from '../util.js';

const CODE: Record<string, number> = { float32: 0, int32: 1, bool: 2 };

/** Cast between float32, int32 and bool (cm_cast); the same dtype shares the buffer. */
function cast(args: KernelArgs): TensorInfo | TensorInfo[] {
  const x = args.inputs.x as TensorInfo;
  const to = String(args.attrs?.dtype);
  if (CODE[x.dtype] === undefined || CODE[to] === undefined) return fallback('Cast', args);
  if (x.dtype === to) return alias(args.backend, x, x.shape);
  const out = args.backend.makeOutput(x.shape, to as 'float32' | 'int32' | 'bool');
  args.backend.device.launch('cm_cast', size(x.shape), [args.backend.ptr(x), args.backend.ptr(out)], [CODE[x.dtype] === 2 ? 1 : CODE[x.dtype], CODE[to]]);
  return out;
}

export const castConfig: KernelConfig = { kernelName: 'Cast', backendName: 'cuda', kernelFunc: cast as unknown as KernelConfig['kernelFunc'] };
