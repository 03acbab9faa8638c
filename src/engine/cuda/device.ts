import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeFileAtomicSync } from '../../util/atomic.js';
import { CmdcmError } from '../../util/errors.js';
import { ensureDirSync } from '../../util/fsx.js';
import { warnOnce } from '../../util/log.js';
import { cudaAddon, type CudaAddon } from './addon.js';

/**
 * Where the cuda engine's tensors live and its kernels run: one opened device of the addon
 * (native/cuda/device.h), either
 * - 'gpu': the first GPU this process sees (a worker process of `--transport process --gpus 0,1`
 *   sees exactly one, through CUDA_VISIBLE_DEVICES), with libcuda, NVRTC and cuBLAS opened with
 *   dlopen; the kernels of native/cuda/kernels/*.cu are compiled by NVRTC once per source and GPU
 *   architecture and cached on disk; or
 * - 'shim': host memory, the same kernel sources compiled into the addon for the CPU through
 *   native/cuda/shim.h, GEMM by the native engine's sgemm. CI runs the whole backend on it.
 * Addresses are numbers (exact below 2^53); 0 is the empty buffer of a 0-element tensor.
 */
export type DeviceKind = 'gpu' | 'shim';

export class CudaDevice {
  private readonly fns = new Map<string, number>();
  private readonly P = new Float64Array(8);
  private readonly I = new Int32Array(32);
  private readonly F = new Float32Array(4);

  constructor(readonly a: CudaAddon, readonly handle: number, readonly kind: DeviceKind) {}

  alloc(bytes: number): number {
    return this.a.cudaAlloc(this.handle, bytes);
  }
  free(ptr: number): void {
    if (ptr !== 0) this.a.cudaFree(this.handle, ptr);
  }
  upload(ptr: number, values: Float32Array | Int32Array, byteOffset = 0): void {
    if (values.length > 0) this.a.cudaUpload(this.handle, ptr, byteOffset, values);
  }
  download(ptr: number, out: Float32Array | Int32Array, byteOffset = 0): void {
    if (out.length > 0) this.a.cudaDownload(this.handle, ptr, byteOffset, out);
  }
  copy(dst: number, dstOffset: number, src: number, srcOffset: number, bytes: number): void {
    if (bytes > 0) this.a.cudaCopy(this.handle, dst, dstOffset, src, srcOffset, bytes);
  }
  sync(): void {
    this.a.cudaSync(this.handle);
  }
  info(): ReturnType<CudaAddon['cudaInfo']> {
    return this.a.cudaInfo(this.handle);
  }
  /** [min, max] of host indices ([0, -1] when empty) */
  indexRange(ids: Int32Array): [number, number] {
    return this.a.cudaIndexRange(ids);
  }
  releaseCached(): void {
    this.a.cudaReleaseCached(this.handle);
  }

  /**
   * Launches kernel `name` over `n` threads (a grid-stride loop in every kernel covers the rest
   * when the grid is capped). `ptrs`: buffer addresses; `ints`/`floats`: its parameters, laid out
   * as the kernel's comment in native/cuda/kernels/*.cu says.
   */
  launch(name: string, n: number, ptrs: readonly number[], ints: ArrayLike<number> = [], floats: ArrayLike<number> = []): void {
    if (n <= 0) return;
    let fn = this.fns.get(name);
    if (fn === undefined) this.fns.set(name, (fn = this.a.cudaFunction(this.handle, name)));
    const P = this.P, I = this.I, F = this.F;
    P.fill(0);
    I.fill(0);
    F.fill(0);
    for (let k = 0; k < ptrs.length; k++) P[k] = ptrs[k];
    for (let k = 0; k < ints.length; k++) I[k] = ints[k];
    for (let k = 0; k < floats.length; k++) F[k] = floats[k];
    const block = 256;
    const grid = Math.max(1, Math.min(Math.ceil(n / block), MAX_GRID));
    this.a.cudaLaunch(this.handle, fn, grid, block, P, n, I, F);
  }

  /** Row-major c[b] = op(a[b])·op(b[b]) (cuBLAS on the GPU, sgemm on the shim); strides in floats. */
  gemm(a: number, b: number, c: number, batch: number, M: number, N: number, K: number, tA: boolean, tB: boolean, strideA: number, strideB: number): void {
    this.a.cudaGemm(this.handle, a, b, c, batch, M, N, K, tA, tB, strideA, strideB);
  }

  close(): void {
    this.a.cudaClose(this.handle);
  }
}

// 16384 blocks of 256 threads: enough to fill a GPU of ~130 SMs many times over.
const MAX_GRID = 16384;

/** The package's native/cuda/kernels directory (from dist/src/engine/cuda/ or src/engine/cuda/). */
export function kernelDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const k = join(dir, 'native', 'cuda', 'kernels');
    if (existsSync(join(dir, 'package.json')) && existsSync(k)) return k;
    dir = dirname(dir);
  }
  throw new CmdcmError("engine 'cuda': the kernel sources (native/cuda/kernels/*.cu) are not in this installation; reinstall cmdcm");
}

/**
 * The kernels as one NVRTC program: common.cuh, then every .cu file (sorted) without its
 * `#include "common.cuh"` (NVRTC is given no include path).
 */
export function kernelSource(dir = kernelDir()): string {
  const strip = (s: string) => s.replace(/^#include "common\.cuh"\s*$/gm, '').replace(/^#pragma once\s*$/gm, '');
  const files = readdirSync(dir).filter((f) => f.endsWith('.cu')).sort();
  return [strip(readFileSync(join(dir, 'common.cuh'), 'utf8')), ...files.map((f) => `// ---- ${f}\n` + strip(readFileSync(join(dir, f), 'utf8')))].join('\n');
}

/** Where compiled kernels are cached: $CMDCM_CUDA_CACHE, else $XDG_CACHE_HOME/cmdcm/cuda, else ~/.cache/cmdcm/cuda. */
export function cacheDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.CMDCM_CUDA_CACHE) return env.CMDCM_CUDA_CACHE;
  return join(env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'cmdcm', 'cuda');
}

/** The cache file of a program: a hash of its source, the GPU architecture and the NVRTC library. */
export function cacheKey(source: string, major: number, minor: number, nvrtc: string): string {
  return createHash('sha256').update(source).update(`\0sm_${major}${minor}\0${nvrtc}`).digest('hex').slice(0, 32);
}

/**
 * The kernel image for this GPU: from the disk cache, else compiled by NVRTC and cached (a cache
 * that cannot be written is warned about once; the engine still runs). Returns where it came from.
 */
export function loadKernels(dev: CudaDevice, source = kernelSource()): 'cache' | 'nvrtc' {
  const info = dev.info();
  const dir = cacheDir();
  const file = join(dir, `${cacheKey(source, info.major, info.minor, info.nvrtc)}.bin`);
  let image: Uint8Array | undefined;
  try {
    image = readFileSync(file);
  } catch { /* not cached yet */ }
  if (image && image.length > 0) {
    try {
      dev.a.cudaLoadModule(dev.handle, image);
      return 'cache';
    } catch (e) {
      warnOnce('cuda-cache', `engine 'cuda': the cached kernels ${file} did not load (${(e as Error).message}); compiling them again`);
    }
  }
  let compiled: { image: Uint8Array; kind: string };
  try {
    compiled = dev.a.cudaCompile(source, info.major, info.minor);
  } catch (e) {
    throw new CmdcmError(`engine 'cuda': ${(e as Error).message.split('\n')[0]}`, { cause: e });
  }
  dev.a.cudaLoadModule(dev.handle, compiled.image);
  try {
    ensureDirSync(dir, 'CUDA kernel cache');
    writeFileAtomicSync(file, compiled.image);
  } catch (e) {
    warnOnce('cuda-cache-write', `engine 'cuda': cannot cache the compiled kernels in ${dir} (${(e as Error).message}); set CMDCM_CUDA_CACHE to a writable directory`);
  }
  return 'nvrtc';
}

/** Why the GPU cannot be used here ('' when it can), without opening a device. */
export function gpuProblem(): string {
  const a = cudaAddon();
  if (!a) return 'the cmdcm C++ addon, which the cuda engine runs in, is not built or predates the cuda engine (run `npm rebuild cmdcm`)';
  return a.cudaProbe().why;
}

/** The device kind `--engine cuda` uses: CMDCM_CUDA_DEVICE=shim picks the CPU shim (tests, CI). */
export function deviceKindFromEnv(env: NodeJS.ProcessEnv = process.env): DeviceKind {
  const k = env.CMDCM_CUDA_DEVICE ?? 'gpu';
  if (k !== 'gpu' && k !== 'shim') throw new CmdcmError(`CMDCM_CUDA_DEVICE: expected gpu or shim, got '${k}'`, { exitCode: 2 });
  return k;
}

/** Opens a device of `kind` (the GPU's kernels loaded); a missing driver or library is a one-line CmdcmError. */
export function openDevice(kind: DeviceKind): CudaDevice {
  const a = cudaAddon();
  if (!a) throw new CmdcmError(`engine 'cuda': ${gpuProblem()}`);
  let handle: number;
  try {
    handle = a.cudaOpen(kind, 0);
  } catch (e) {
    throw new CmdcmError(`engine 'cuda' cannot use a GPU: ${(e as Error).message} (or pick --engine native)`, { cause: e });
  }
  const dev = new CudaDevice(a, handle, kind);
  if (kind === 'gpu') {
    try {
      loadKernels(dev);
    } catch (e) {
      dev.close();
      if (e instanceof CmdcmError) throw e;
      throw new CmdcmError(`engine 'cuda': the kernels did not load on the GPU: ${(e as Error).message}`, { cause: e });
    }
  }
  return dev;
}
