import * as tf from '@tensorflow/tfjs-core';
import '../tf-setup.js'; // the cpu backend and tfjs's gradients (cmdcm depends on tfjs-core, not the full tfjs)
import type { BackendValues, DataType, KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import { activeKernelProfile } from '../native/backend.js';
import { traceNative } from '../native/util.js';
import type { CudaDevice } from './device.js';
import { CUDA_KERNELS } from './kernels/index.js';
import { fallbackKernel, size, type CudaBackendLike } from './util.js';

/**
 * The 'cuda' tfjs backend: every tensor's values live in a device buffer (device.ts: the GPU, or
 * the CPU shim in CI), float32 / int32 / bool alike as 4-byte words (bool as int32 0/1). Kernels
 * launch the CUDA C kernels of native/cuda/kernels and cuBLAS; a kernel it lacks runs as tfjs's CPU
 * kernel on values read back and uploaded again (util.ts `fallbackKernel`, traced).
 *
 * Reads: only what the caller reads (dataSync of the loss, the gradients). An int32 tensor written
 * from the host keeps that host array (`host`), so gather can check its indices on the host as the
 * CPU kernel does, and reading it back costs nothing.
 */
interface TensorData {
  ptr: number;
  dtype: DataType;
  size: number;
  refCount: number;
  /** host values: int32 tensors written from the host, and every string tensor (never on the device) */
  host?: BackendValues;
}

export class CudaBackend extends tf.KernelBackend implements CudaBackendLike {
  private readonly data: tf.DataStorage<TensorData>;
  private disposed = false;

  constructor(readonly device: CudaDevice) {
    super();
    this.data = new tf.DataStorage<TensorData>(this, tf.engine());
  }

  ptr(t: TensorInfo): number {
    return this.data.get(t.dataId).ptr;
  }

  hostValues(t: TensorInfo): Int32Array | undefined {
    const h = this.data.get(t.dataId).host;
    return h instanceof Int32Array ? h : undefined;
  }

  makeOutput(shape: number[], dtype: DataType): TensorInfo {
    const dataId = {};
    const n = size(shape);
    this.data.set(dataId, { ptr: n > 0 ? this.device.alloc(n * 4) : 0, dtype, size: n, refCount: 1 });
    return { dataId, shape, dtype };
  }

  private store(dataId: object, values: BackendValues | null, shape: number[], dtype: DataType, refCount: number): void {
    const n = size(shape);
    if (dtype === 'string' || dtype === 'complex64') {
      if (dtype === 'complex64') throw new Error("engine 'cuda' holds no complex64 tensors");
      this.data.set(dataId, { ptr: 0, dtype, size: n, refCount, host: values ?? [] });
      return;
    }
    const ptr = n > 0 ? this.device.alloc(n * 4) : 0;
    const d: TensorData = { ptr, dtype, size: n, refCount };
    if (values && n > 0) {
      let words: Float32Array | Int32Array;
      if (dtype === 'float32') words = values instanceof Float32Array ? values : Float32Array.from(values as ArrayLike<number>);
      else {
        words = values instanceof Int32Array ? values : Int32Array.from(values as ArrayLike<number>);
        if (dtype === 'int32') d.host = words;
      }
      this.device.upload(ptr, words.length > n ? words.subarray(0, n) : words);
    }
    this.data.set(dataId, d);
  }

  override write(values: BackendValues | null, shape: number[], dtype: DataType): object {
    const dataId = {};
    this.store(dataId, values, shape, dtype, 1);
    return dataId;
  }

  override move(dataId: object, values: BackendValues | null, shape: number[], dtype: DataType, refCount: number): void {
    this.store(dataId, values, shape, dtype, refCount);
  }

  makeTensorInfo(shape: number[], dtype: DataType, values?: BackendValues | string[]): TensorInfo {
    if (values === undefined) return this.makeOutput(shape, dtype);
    return { dataId: this.write(values as BackendValues, shape, dtype), shape, dtype };
  }

  override readSync(dataId: object): BackendValues {
    const d = this.data.get(dataId);
    if (d.host) return d.host;
    if (d.dtype === 'float32') {
      const out = new Float32Array(d.size);
      this.device.download(d.ptr, out);
      return out;
    }
    const w = new Int32Array(d.size);
    this.device.download(d.ptr, w);
    return d.dtype === 'bool' ? Uint8Array.from(w) : w;
  }

  override async read(dataId: object): Promise<BackendValues> {
    return this.readSync(dataId);
  }

  override refCount(dataId: object): number {
    return this.data.has(dataId) ? this.data.get(dataId).refCount : 0;
  }

  override incRef(dataId: object): void {
    this.data.get(dataId).refCount++;
  }

  decRef(dataId: object): void {
    if (this.data.has(dataId)) this.data.get(dataId).refCount--;
  }

  override disposeData(dataId: object, force = false): boolean {
    if (!this.data.has(dataId)) return true;
    const d = this.data.get(dataId);
    d.refCount--;
    if (!force && d.refCount > 0) return false;
    if (!this.disposed) this.device.free(d.ptr);
    this.data.delete(dataId);
    return true;
  }

  disposeIntermediateTensorInfo(t: TensorInfo): void {
    this.disposeData(t.dataId);
  }

  override numDataIds(): number {
    return this.data.numDataIds();
  }

  override memory(): { unreliable: boolean; reasons?: string[] } & Record<string, unknown> {
    const i = this.device.info();
    return { unreliable: false, numBytesInGPU: i.liveBytes, numBytesCached: i.cachedBytes, device: i.kind };
  }

  override timerAvailable(): boolean {
    return true;
  }

  override async time(f: () => void): Promise<tf.BackendTimingInfo> {
    const t0 = performance.now();
    f();
    this.device.sync();
    return { kernelMs: performance.now() - t0 };
  }

  override floatPrecision(): 16 | 32 {
    return 32;
  }

  override epsilon(): number {
    return 1e-7;
  }

  override dispose(): void {
    this.disposed = true;
  }
}

/**
 * Traces the backend's own kernels (startKernelTrace) and, while a kernel profile is recorded
 * (`cmdcm bench step --profile`), times each kernel between two device synchronizations: the GPU
 * runs asynchronously, so that is the only per-kernel time that means anything (it slows the step).
 */
function timed(name: string, f: KernelFunc, own: boolean, device: CudaDevice): KernelFunc {
  return ((args: Parameters<KernelFunc>[0]) => {
    if (own) traceNative(name);
    const profile = activeKernelProfile();
    if (!profile) return f(args);
    device.sync();
    const t0 = performance.now();
    const r = f(args);
    device.sync();
    profile.ms.set(name, (profile.ms.get(name) ?? 0) + performance.now() - t0);
    profile.calls.set(name, (profile.calls.get(name) ?? 0) + 1);
    return r;
  }) as KernelFunc;
}

let registeredDevice: CudaDevice | undefined;

/**
 * Registers the 'cuda' backend once per thread on `device`: its own kernels (kernels/index.ts), and
 * every other kernel tfjs's CPU backend has as a traced fallback.
 */
export function registerCudaBackend(device: CudaDevice): void {
  if (registeredDevice) return;
  tf.registerBackend('cuda', () => new CudaBackend(device), 1);
  const own = new Set(CUDA_KERNELS.map((k) => k.kernelName));
  for (const k of tf.getKernelsForBackend('cpu')) {
    if (own.has(k.kernelName)) continue;
    const f = fallbackKernel(k.kernelName, k.kernelFunc) as unknown as KernelFunc;
    tf.registerKernel({ kernelName: k.kernelName, backendName: 'cuda', kernelFunc: timed(k.kernelName, f, false, device) });
  }
  for (const k of CUDA_KERNELS) tf.registerKernel({ ...k, backendName: 'cuda', kernelFunc: timed(k.kernelName, k.kernelFunc, true, device) } as KernelConfig);
  registeredDevice = device;
}

/** The device the 'cuda' backend of this thread runs on, once registered. */
export function cudaDevice(): CudaDevice | undefined {
  return registeredDevice;
}
