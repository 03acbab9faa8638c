import { loadAddon } from '../../native.js';

/** The addon functions the native engine's kernels call (native/engine/*.cc). */
export interface EngineAddon {
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
  adamDense(p: Float32Array, g: Float32Array, m: Float32Array, v: Float32Array, lr: number, b1: number, b2: number, eps: number, step: number): void;
  lazyAdamRows(table: Float32Array, m: Float32Array, v: Float32Array, dim: number, rows: Int32Array, rowGrad: Float32Array,
    lr: number, b1: number, b2: number, eps: number, step: number): void;
  adagradRows(table: Float32Array, acc: Float32Array, dim: number, rows: Int32Array, rowGrad: Float32Array, lr: number, eps: number): void;
}

const REQUIRED = ['matmul', 'binary', 'unary', 'reduce', 'gather', 'segmentSum', 'transpose', 'slice', 'pad', 'tile', 'adamDense'];

/** The engine's addon functions, or undefined when the addon is missing or predates the engine. */
export function engineAddon(): EngineAddon | undefined {
  const a = loadAddon();
  if (!a || !REQUIRED.every((f) => typeof a[f] === 'function')) return undefined;
  return a as unknown as EngineAddon;
}

let bound: EngineAddon | undefined;

/** Called once by the backend registration; the kernels then reach the addon without lookups. */
export function bindAddon(a: EngineAddon): void {
  bound = a;
}

export function addon(): EngineAddon {
  if (!bound) throw new Error('native engine kernels ran before the addon was bound');
  return bound;
}
