import * as tf from '@tensorflow/tfjs-core';
import type { DataType, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import { allocF32 } from './pool.js';

/**
 * What the native kernels need from tfjs's MathBackendCPU (the native backend *is* one): its
 * typed-array store, read and written in place by the addon (zero copy).
 */
export interface CpuBackend {
  data: { get(dataId: object): { values?: unknown } };
  makeTensorInfo(shape: number[], dtype: DataType, values?: unknown): TensorInfo;
  disposeIntermediateTensorInfo(t: TensorInfo): void;
}

export interface KernelArgs {
  inputs: Record<string, TensorInfo | TensorInfo[] | undefined>;
  backend: CpuBackend;
  attrs?: Record<string, unknown>;
}

/**
 * A tensor's values as a Float32Array. Usually the backend's own array (zero copy); but tfjs's Cast
 * from bool or int32 to float32 keeps the source's Uint8Array/Int32Array under the new dtype, and
 * the addon must not reinterpret those bytes, so such values are converted (a copy).
 */
export function f32(backend: CpuBackend, t: TensorInfo): Float32Array {
  const v = backend.data.get(t.dataId).values;
  return v instanceof Float32Array ? v : Float32Array.from(v as ArrayLike<number>);
}
export function i32(backend: CpuBackend, t: TensorInfo): Int32Array {
  const v = backend.data.get(t.dataId).values;
  return v instanceof Int32Array ? v : Int32Array.from(v as ArrayLike<number>);
}
export function u8(backend: CpuBackend, t: TensorInfo): Uint8Array {
  const v = backend.data.get(t.dataId).values;
  return v instanceof Uint8Array ? v : Uint8Array.from(v as ArrayLike<number>);
}
/** Values of a float32 or int32 tensor as 4-byte words of the matching array class. */
export function words(backend: CpuBackend, t: TensorInfo): Float32Array | Int32Array {
  return t.dtype === 'int32' ? i32(backend, t) : f32(backend, t);
}

/** Dtypes whose elements the addon moves as 4-byte words (gather, transpose, slice, tile). */
export function is4Byte(t: TensorInfo): boolean {
  return t.dtype === 'float32' || t.dtype === 'int32';
}

export function size(shape: number[]): number {
  let s = 1;
  for (const d of shape) s *= d;
  return s;
}

export function alloc(dtype: DataType, n: number): Float32Array | Int32Array | Uint8Array {
  return dtype === 'int32' ? new Int32Array(n) : dtype === 'bool' ? new Uint8Array(n) : allocF32(n);
}

/** The CPU backend's kernel for `name`, which a native kernel calls for the cases it does not handle. */
export function cpuKernel(name: string): KernelFunc {
  const k = tf.getKernel(name, 'cpu');
  if (!k) throw new Error(`tfjs has no cpu kernel ${name}`);
  return k.kernelFunc;
}

/**
 * Which of the native backend's own kernels ran, and which of them handed a call to tfjs's CPU
 * kernel instead (`fallback`), while a trace is on. The engine tests compare native with cpu; a
 * kernel that quietly fell back would compare cpu with cpu, so they assert on this trace too.
 */
export interface KernelTrace {
  native: Map<string, number>;
  fallback: Map<string, number>;
}
let trace: KernelTrace | null = null;

export function startKernelTrace(): KernelTrace {
  trace = { native: new Map(), fallback: new Map() };
  return trace;
}
export function stopKernelTrace(): KernelTrace | null {
  const t = trace;
  trace = null;
  return t;
}
/** Called by the backend for every call of one of its own (addon-backed) kernels. */
export function traceNative(name: string): void {
  if (trace) trace.native.set(name, (trace.native.get(name) ?? 0) + 1);
}

/** Called by another backend (cuda) whose kernel handed a call to tfjs's CPU kernel. */
export function traceFallback(name: string): void {
  if (trace) trace.fallback.set(name, (trace.fallback.get(name) ?? 0) + 1);
}

export function fallback(name: string, args: KernelArgs): TensorInfo | TensorInfo[] {
  if (trace) trace.fallback.set(name, (trace.fallback.get(name) ?? 0) + 1);
  return cpuKernel(name)(args as never) as TensorInfo | TensorInfo[];
}

/**
 * Broadcast shapes collapsed for the addon: dims of size 1 dropped and adjacent dims merged when
 * both operands stay contiguous across them, so [B,N] + [N] becomes one (B, N) loop with b's outer
 * stride 0, and same-shape operands become a single flat run.
 */
export interface BroadcastPlan { outShape: number[]; dims: Int32Array; sa: Int32Array; sb: Int32Array }

// A training step broadcasts the same few dozen shape pairs every step; plans are read-only.
const plans = new Map<string, BroadcastPlan>();
const MAX_PLANS = 4096;

export function broadcastPlan(aShape: number[], bShape: number[]): BroadcastPlan {
  const key = `${aShape.join(',')}|${bShape.join(',')}`;
  let p = plans.get(key);
  if (!p) {
    if (plans.size >= MAX_PLANS) plans.clear();
    plans.set(key, (p = makePlan(aShape, bShape)));
  }
  return p;
}

function makePlan(aShape: number[], bShape: number[]): BroadcastPlan {
  const outShape = tf.backend_util.assertAndGetBroadcastShape(aShape, bShape);
  const r = outShape.length;
  const pa = [...new Array(r - aShape.length).fill(1), ...aShape];
  const pb = [...new Array(r - bShape.length).fill(1), ...bShape];
  const dims: number[] = [], sa: number[] = [], sb: number[] = [];
  let accA = 1, accB = 1;
  const stA = new Array<number>(r), stB = new Array<number>(r);
  for (let d = r - 1; d >= 0; d--) {
    stA[d] = pa[d] === 1 ? 0 : accA;
    stB[d] = pb[d] === 1 ? 0 : accB;
    accA *= pa[d];
    accB *= pb[d];
  }
  for (let d = 0; d < r; d++) {
    if (outShape[d] === 1) continue;
    const k = dims.length - 1;
    if (k >= 0 && sa[k] === stA[d] * outShape[d] && sb[k] === stB[d] * outShape[d]) {
      dims[k] *= outShape[d];
      sa[k] = stA[d];
      sb[k] = stB[d];
    } else {
      dims.push(outShape[d]);
      sa.push(stA[d]);
      sb.push(stB[d]);
    }
  }
  return { outShape, dims: Int32Array.from(dims), sa: Int32Array.from(sa), sb: Int32Array.from(sb) };
}
