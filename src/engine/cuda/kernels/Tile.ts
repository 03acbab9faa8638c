import type { KernelConfig, TensorInfo } from '@tensorflow/tfjs-core';
import { fallback, isWord, size, type KernelArgs } from '../util.js';

/** Tile of a 4-byte tensor up to rank 8 (cm_tile; also tf.broadcastTo). */
function tile(args: KernelArgs): TensorInfo | TensorInfo[] {
  const x = args.inputs.x as TensorInfo;
  const reps = (args.attrs?.reps as number[]) ?? [];
  if (!isWord(x) || x.shape.length > 8 || x.shape.length === 0 || reps.length !== x.shape.length) return fallback('Tile', args);
  const outShape = x.shape.map((d, i) => d * reps[i]);
  const out = args.backend.makeOutput(outShape, x.dtype);
  const ints = new Array<number>(17).fill(0);
  ints[0] = x.shape.length;
  outShape.forEach((d, i) => { ints[1 + i] = d; ints[9 + i] = x.shape[i]; });
  args.backend.device.launch('cm_tile', size(outShape), [args.backend.ptr(x), args.backend.ptr(out)], ints);
  return out;
}

export const tileConfig: KernelConfig = { kernelName: 'Tile', backendName: 'cuda', kernelFunc: tile as unknown as KernelConfig['kernelFunc'] };
