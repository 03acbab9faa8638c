import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isMainThread } from 'node:worker_threads';
import { warnOnce } from './util/log.js';

/**
 * Loads the C++ addon once per thread (it is context-aware, so each worker thread gets its own
 * instance). Returns undefined when it cannot load; callers fall back to the TypeScript
 * implementations, and a single warning names why. CMDCM_NO_NATIVE=1 forces the fallback.
 */
/**
 * Every function the addon exports (native/**\/*.cc; each checks its arguments with native/args.h
 * and throws a TypeError or RangeError on a bad call). Modules take the functions they need from
 * this one declaration (`Pick<AddonFunctions, …>`). A build may predate a function, so `Addon` has
 * each one optional and its users check it before they rely on it.
 */
export interface AddonFunctions {
  // native/features: hashing, sequence packing, batch gather
  hashVocab(field: string, offset: number, size: number, bytes: Uint8Array, units: Int32Array, out: Int32Array): Int32Array;
  hashBytes(field: string, offset: number, size: number, bytes: Uint8Array, starts: Int32Array, out: Int32Array): Int32Array;
  packSequences(
    time: Int32Array, itemRow: Int32Array, catRow: Int32Array, behavior: Uint8Array, userStart: Int32Array,
    sampleUser: Int32Array, sampleTime: Int32Array, seqLen: number, resolution: number,
    behaviorOffset: number, gapOffset: number, gapBuckets: number, outSeq: Int32Array, outLen: Int32Array,
  ): void;
  gatherRows<T extends Int32Array | Float32Array | Uint8Array>(src: T, width: number, idx: Int32Array, dst: T): T;
  // native/data: the readers' row scanner and id interning
  scanLogRows(buf: Uint8Array, from: number, to: number, params: Int32Array, single: Int8Array, behKeys: Float64Array, behVals: Int32Array,
    mmdd: Float64Array, outKey: Float64Array, outOff: Int32Array, outBeh: Uint8Array, outTime: Int32Array, state: Int32Array): void;
  internSmallRun(table: Int32Array, bits: number, keys: Float64Array, stride: number, first: number, from: number, m: number,
    out: Int32Array, outBase: number): number;
  // native/engine: the native engine's kernels (their TS callers: src/engine/native/kernels/)
  matmul(a: Float32Array, b: Float32Array, out: Float32Array, batch: number, m: number, n: number, k: number,
    transA: boolean, transB: boolean, strideA: number, strideB: number, bias: Float32Array | null, biasKind: number,
    act: number, alpha: number): void;
  gemmInfo(): { gemm: string; simd: string; threads: number; blasBuilt: boolean };
  setGemm(which: 'openblas' | 'in-tree'): string;
  binary(op: number, a: Float32Array, b: Float32Array, out: Float32Array | Uint8Array, dims: Int32Array, aStrides: Int32Array, bStrides: Int32Array): void;
  unary(op: number, x: Float32Array, out: Float32Array, alpha: number, beta: number): void;
  select(cond: Uint8Array, t: Float32Array, e: Float32Array, out: Float32Array, inner: number): void;
  reduce(op: number, x: Float32Array, out: Float32Array, outer: number, r: number, inner: number): void;
  softmax(x: Float32Array, out: Float32Array, rows: number, cols: number): void;
  gather(x: Float32Array | Int32Array, indices: Int32Array, out: Float32Array | Int32Array, outer: number, axisSize: number, inner: number): void;
  segmentSum(x: Float32Array, ids: Int32Array, out: Float32Array, numSegments: number, inner: number): void;
  transpose(x: Float32Array | Int32Array, out: Float32Array | Int32Array, shape: Int32Array, perm: Int32Array): void;
  slice(x: Float32Array | Int32Array, out: Float32Array | Int32Array, shape: Int32Array, begin: Int32Array, size: Int32Array): void;
  pad(x: Float32Array | Int32Array, out: Float32Array | Int32Array, shape: Int32Array, before: Int32Array, outShape: Int32Array): void;
  tile(x: Float32Array | Int32Array, out: Float32Array | Int32Array, shape: Int32Array, reps: Int32Array): void;
  // native/engine/optim.cc: the optimizer kernels (src/engine/optim.ts is the reference)
  adamDense(p: Float32Array, g: Float32Array, m: Float32Array, v: Float32Array, lr: number, b1: number, b2: number, eps: number, step: number): void;
  lazyAdamRows(table: Float32Array, m: Float32Array, v: Float32Array, dim: number, rows: Int32Array, rowGrad: Float32Array,
    lr: number, b1: number, b2: number, eps: number, step: number): void;
  adagradRows(table: Float32Array, acc: Float32Array, dim: number, rows: Int32Array, rowGrad: Float32Array, lr: number, eps: number): void;
  // native/model/embedding.cc: the model's host-side unique-row gather
  embeddingGatherRows(table: Float32Array, dim: number, ids: Int32Array[], alloc?: (n: number) => Float32Array, padRow?: boolean,
    localOut?: Int32Array[]): { rows: Int32Array; values: Float32Array; local: Int32Array[] };
  // native/parallel: shared memory, futexes and the workers' fused reduce
  shmCreate(name: string, bytes: number): ArrayBuffer;
  shmOpen(name: string): ArrayBuffer;
  shmUnlink(name: string): boolean;
  futexWait(buf: ArrayBuffer, byteOffset: number, expected: number, ms: number): 'ok' | 'not-equal' | 'timed-out';
  futexWake(buf: ArrayBuffer, byteOffset: number, count: number): number;
  reduceDenseAdam(grads: Float32Array, p: number, workers: number, lo: number, hi: number, params: Float32Array, m: Float32Array, v: Float32Array,
    lr: number, b1: number, b2: number, eps: number, step: number): void;
  reduceOwnedRows(workers: number, w: number, counts: Int32Array, rowIdx: Int32Array, rowGrad: Float32Array, cap: number, dim: number,
    table: Float32Array, m: Float32Array, v: Float32Array, optimizer: 'lazyAdam' | 'adagrad', lr: number, b1: number, b2: number, eps: number, step: number): number;
  firstNonFinite(a: Float32Array): number;
  // native/cuda: the cuda engine's devices (the GPU through dlopen'ed libcuda/NVRTC/cuBLAS, or the CPU shim)
  cudaProbe(): { ok: boolean; why: string; devices: number; driverVersion: number };
  cudaOpen(kind: 'gpu' | 'shim', ordinal: number): number;
  cudaClose(device: number): void;
  cudaInfo(device: number): { kind: 'gpu' | 'shim'; name: string; major: number; minor: number; totalMem: number; liveBytes: number;
    cachedBytes: number; live: number; driver: string; nvrtc: string; cublas: string };
  cudaAlloc(device: number, bytes: number): number;
  cudaFree(device: number, ptr: number): void;
  cudaUpload(device: number, ptr: number, byteOffset: number, values: Float32Array | Int32Array): void;
  cudaDownload(device: number, ptr: number, byteOffset: number, out: Float32Array | Int32Array): void;
  cudaCopy(device: number, dst: number, dstByteOffset: number, src: number, srcByteOffset: number, bytes: number): void;
  cudaCompile(source: string, major: number, minor: number): { image: Uint8Array; kind: 'cubin' | 'ptx' };
  cudaLoadModule(device: number, image: Uint8Array): void;
  cudaFunction(device: number, name: string): number;
  cudaLaunch(device: number, fn: number, grid: number, block: number, ptrs: Float64Array, n: number, ints: Int32Array, floats: Float32Array): void;
  cudaGemm(device: number, a: number, b: number, c: number, batch: number, M: number, N: number, K: number, transA: boolean, transB: boolean,
    strideA: number, strideB: number): void;
  cudaSync(device: number): void;
  cudaReleaseCached(device: number): void;
  cudaIndexRange(ids: Int32Array): [number, number];
}
export type Addon = Partial<AddonFunctions>;

let cached: Addon | null | undefined;

function packageRoot(): string {
  // dist/src/native.js -> package root is two levels up from dist/src
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 4; i++) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'native', 'find-binary.cjs'))) return dir;
    dir = dirname(dir);
  }
  return dirname(dirname(dirname(fileURLToPath(import.meta.url))));
}

export function loadAddon(): Addon | undefined {
  if (cached !== undefined) return cached ?? undefined;
  if (process.env.CMDCM_NO_NATIVE === '1') {
    cached = null;
    return undefined;
  }
  const root = packageRoot();
  const req = createRequire(import.meta.url);
  // Which binary: a local build that fits this CPU, else the prebuilt one for this platform and CPU
  // (native/find-binary.cjs, shared with the install script so both agree).
  let why: string;
  try {
    const { findBinary } = req(join(root, 'native', 'find-binary.cjs')) as { findBinary(root: string): { file?: string; why?: string } };
    const found = findBinary(root);
    if (found.file) {
      try {
        cached = req(found.file) as Addon;
        addonFile = found.file;
        return cached;
      } catch (e) {
        why = `${found.file} failed to load: ${(e as Error).message.split('\n')[0]}`;
      }
    } else {
      why = found.why!;
    }
  } catch (e) {
    why = `the addon loader failed: ${(e as Error).message.split('\n')[0]}`;
  }
  cached = null;
  // One warning per process (worker threads load the addon too, and would repeat it), saying what it
  // costs and how to fix it: silently training tens of times slower is worse than any message.
  if (isMainThread) {
    warnOnce('addon', `the native addon is unavailable, so cmdcm runs on its TypeScript kernels (training about 50x slower: 140 vs 6,900 samples/s on the demo): ${why}. ` +
      'To fix: install a C++ toolchain (g++, make, python3) and run `npm rebuild cmdcm`.');
  }
  return undefined;
}

let addonFile: string | undefined;

/** The path of the loaded addon binary (for `cmdcm bench` and bug reports), or undefined. */
export function addonPath(): string | undefined {
  loadAddon();
  return addonFile;
}

/** The addon, or a clear error when a caller has no fallback (e.g. the native engine). */
export function requireAddon(what: string): Addon {
  const a = loadAddon();
  if (!a) throw new Error(`${what} needs the native addon, which is not available (run \`npx node-gyp rebuild\` in the cmdcm package)`);
  return a;
}
