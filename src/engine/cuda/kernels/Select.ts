import type { KernelConfig, TensorInfo } from '@tensorflow/tfjs-core';
import { fallback, size, type KernelArgs } from '../util.js';

/** Select (tf.where): a condition of the output's shape, or of its leading dim only (cm_select). */
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
  const out = args.backend.makeOutput(t.shape, 'float32');
  const b = args.backend;
  b.device.launch('cm_select', n, [b.ptr(c), b.ptr(t), b.ptr(e), b.ptr(out)], [inner]);
  return out;
}

export const selectConfig: KernelConfig = { kernelName: 'Select', backendName: 'cuda', kernelFunc: select as unknown as KernelConfig['kernelFunc'] };
