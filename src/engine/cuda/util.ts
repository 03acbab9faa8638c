import * as tf from '@tensorflow/tfjs-core';
import type { DataType, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import { traceFallback } from '../native/util.js';
import type { CudaDevice } from './device.js';

/** What the cuda kernels need from the backend (backend.ts): device buffers per tensor. */
export interface CudaBackendLike {
  readonly device: CudaDevice;
  /** the device address of a tensor's values (0 when it has none: a 0-element tensor) */
  ptr(t: TensorInfo): number;
  /** a new tensor with an uninitialized device buffer of its size */
  makeOutput(shape: number[], dtype: DataType): TensorInfo;
  /** the tensor's values if the host holds them already (int32 tensors written from the host) */
  hostValues(t: TensorInfo): Int32Array | undefined;
  readSync(dataId: object): unknown;
  incRef(dataId: object): void;
  disposeIntermediateTensorInfo(t: TensorInfo): void;
}

export interface KernelArgs {
  inputs: Record<string, TensorInfo | TensorInfo[] | undefined>;
  backend: CudaBackendLike;
  attrs?: Record<string, unknown>;
}

export function size(shape: number[]): number {
  let s = 1;
  for (const d of shape) s *= d;
  return s;
}

/** Dtypes the device holds as 4-byte words: float32, int32, and bool (as int32 0/1). */
export function isWord(t: TensorInfo): boolean {
  return t.dtype === 'float32' || t.dtype === 'int32' || t.dtype === 'bool';
}

/** Row-major strides of a shape. */
export function strides(shape: number[]): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    s[d] = acc;
    acc *= shape[d];
  }
  return s;
}

/**
 * cm_strided: out[idx] = x[offset + Σ coord_d · srcStride_d] over the output's shape: transposes,
 * slices and broadcasts. Rank <= 8.
 */
export function strided(b: CudaBackendLike, x: TensorInfo, outShape: number[], srcStrides: number[], offset: number, dtype = x.dtype): TensorInfo {
  const out = b.makeOutput(outShape, dtype);
  const n = size(outShape);
  if (n > 0) {
    const ints = new Array<number>(18).fill(0);
    ints[0] = outShape.length;
    outShape.forEach((d, i) => { ints[1 + i] = d; ints[9 + i] = srcStrides[i]; });
    ints[17] = offset;
    b.device.launch('cm_strided', n, [b.ptr(x), b.ptr(out)], ints);
  }
  return out;
}

/** cm_copy2d: rows × cols words from src (row stride, offset) into dst (row stride, offset). */
export function copy2d(b: CudaBackendLike, src: TensorInfo, dst: TensorInfo, rows: number, cols: number, srcStride: number, dstStride: number, srcOff: number, dstOff: number): void {
  if (rows * cols > 0) b.device.launch('cm_copy2d', rows * cols, [b.ptr(src), b.ptr(dst)], [rows, cols, srcStride, dstStride, srcOff, dstOff]);
}

const f32bits = new Float32Array(1), i32view = new Int32Array(f32bits.buffer);
/** The 32 bits of a value of dtype `dtype` as an int (cm_fill, cm_pad take bits). */
export function bitsOf(value: number, dtype: DataType): number {
  if (dtype === 'float32') {
    f32bits[0] = value;
    return i32view[0];
  }
  return dtype === 'bool' ? (value ? 1 : 0) : value | 0;
}

export function fill(b: CudaBackendLike, shape: number[], dtype: DataType, value: number): TensorInfo {
  const out = b.makeOutput(shape, dtype);
  const n = size(shape);
  if (n > 0) b.device.launch('cm_fill', n, [b.ptr(out)], [bitsOf(value, dtype)]);
  return out;
}

/** A tensor that shares x's device buffer under another shape (Reshape, ExpandDims, Squeeze, Identity). */
export function alias(b: CudaBackendLike, x: TensorInfo, shape: number[]): TensorInfo {
  b.incRef(x.dataId);
  return { dataId: x.dataId, shape, dtype: x.dtype };
}

let cpuBackendInstance: tf.KernelBackend | undefined;
function cpuBackend(): tf.KernelBackend {
  if (!cpuBackendInstance) {
    const be = tf.findBackend('cpu');
    if (!be) throw new Error('tfjs cpu backend is not registered');
    cpuBackendInstance = be;
  }
  return cpuBackendInstance;
}

interface CpuStore {
  makeTensorInfo(shape: number[], dtype: DataType, values?: unknown): TensorInfo;
  readSync(dataId: object): unknown;
  disposeIntermediateTensorInfo(t: TensorInfo): void;
}

/**
 * A kernel the cuda backend does not implement (or a case one does not handle): the inputs are
 * read back, tfjs's CPU kernel runs on them, and the outputs are uploaded. Traced as a fallback
 * (startKernelTrace), so tests can assert that the training hot path never comes here.
 */
export function fallbackKernel(name: string, cpuFunc: KernelFunc): (args: KernelArgs) => TensorInfo | TensorInfo[] {
  return (args) => {
    traceFallback(name);
    const cpu = cpuBackend() as unknown as CpuStore;
    const made: TensorInfo[] = [];
    const toCpu = (t: TensorInfo): TensorInfo => {
      const c = cpu.makeTensorInfo(t.shape, t.dtype, args.backend.readSync(t.dataId));
      made.push(c);
      return c;
    };
    // tfjs passes some kernels' inputs (AddN, Concat, Pack) as the array of tensors itself
    let inputs: unknown;
    if (Array.isArray(args.inputs)) inputs = (args.inputs as TensorInfo[]).map(toCpu);
    else {
      const named: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(args.inputs)) named[k] = v === undefined ? undefined : Array.isArray(v) ? v.map(toCpu) : toCpu(v);
      inputs = named;
    }
    const r = cpuFunc({ inputs, backend: cpu, attrs: args.attrs ?? {} } as never) as TensorInfo | TensorInfo[];
    const outs = Array.isArray(r) ? r : [r];
    const up = outs.map((o) => {
      const values = cpu.readSync(o.dataId);
      const backend = args.backend as unknown as { makeTensorInfo(s: number[], d: DataType, v: unknown): TensorInfo };
      return backend.makeTensorInfo(o.shape, o.dtype, values);
    });
    for (const o of outs) cpu.disposeIntermediateTensorInfo(o);
    for (const c of made) cpu.disposeIntermediateTensorInfo(c);
    return Array.isArray(r) ? up : up[0];
  };
}

const cpuKernels = new Map<string, (args: KernelArgs) => TensorInfo | TensorInfo[]>();
/** The fallback for kernel `name`, for the cases a cuda kernel hands over. */
export function fallback(name: string, args: KernelArgs): TensorInfo | TensorInfo[] {
  let f = cpuKernels.get(name);
  if (!f) {
    const k = tf.getKernel(name, 'cpu');
    if (!k) throw new Error(`tfjs has no cpu kernel ${name}`);
    cpuKernels.set(name, (f = fallbackKernel(name, k.kernelFunc)));
  }
  return f(args);
}
