import type { KernelConfig, TensorInfo } from '@tensorflow/tfjs-core';
import { addon } from '../addon.js';
import { allocF32 } from '../pool.js';
import { f32, fallback, size, u8, type KernelArgs } from '../util.js';

/** Select (tf.where): a condition of the output's shape, or of its leading dim only. */
function select(args: KernelArgs): TensorInfo | TensorInfo[] {
  const c = args.inputs.condition as TensorInfo, t = args.inputs.t as TensorInfo, e = args.inputs.e as TensorInfo;
  if (c.dtype !== 'bool' || t.dtype !== 'float32' || e.dtype !== 'float32') return fallback('Select', args);
  const n = size(t.shape);
  const cn = size(c.shape);
  let inner = 1;
  if (cn !== n) {
    if (c.shape.length !== 1 || t.shape.length === 0 || c.shape[0] !== t.shape[0]) return fallback('Select', args);
    inner = n / Math.max(1, cn);
  }
  const out = allocF32(n);
  if (n > 0) addon().select(u8(args.backend, c), f32(args.backend, t), f32(args.backend, e), out, inner);
  return args.backend.makeTensorInfo(t.shape, 'float32', out);
}

export const selectConfig: KernelConfig = { kernelName: 'Select', backendName: 'native', kernelFunc: select as unknown as KernelConfig['kernelFunc'] };
