import * as tf from '@tensorflow/tfjs-core';
import { gemmInfo, useEngine } from '../../src/engine/index.js';
import { engineAddon } from '../../src/engine/native/addon.js';

/**
 * `cmdcm bench kernels`: GFLOP/s of the MatMul shapes of the default model (towers 400-256-128-64
 * at batch 1024) and of their gradient products (the transposed variants tfjs runs for dA and dB),
 * through the tfjs backend (what a model sees, output allocation included) and, on native, as a raw
 * addon GEMM into a preallocated output.
 */
export interface KernelBenchOptions {
  engines: ('native' | 'cpu')[];
  ms: number;
}

export interface KernelBenchLine {
  bench: 'kernels';
  engine: string;
  gemm: string | null;
  op: string;
  m: number;
  k: number;
  n: number;
  transA: boolean;
  transB: boolean;
  ms: number;
  gflops: number;
}

/** [M, K, N] of the forward products; each also runs as its two gradient products. */
export const MODEL_SHAPES: [number, number, number][] = [[1024, 400, 256], [1024, 256, 128], [1024, 128, 64]];

function variants(): { m: number; k: number; n: number; tA: boolean; tB: boolean; label: string }[] {
  const out = [];
  for (const [m, k, n] of MODEL_SHAPES) {
    out.push({ m, k, n, tA: false, tB: false, label: 'forward x·W' });
    out.push({ m, k: n, n: k, tA: false, tB: true, label: 'grad dX = dY·Wᵀ' });
    out.push({ m: k, k: m, n, tA: true, tB: false, label: 'grad dW = Xᵀ·dY' });
  }
  return out;
}

function timeIt(f: () => void, budgetMs: number): number {
  f();
  let n = 0;
  const t0 = performance.now();
  do {
    f();
    n++;
  } while (performance.now() - t0 < budgetMs);
  return (performance.now() - t0) / n;
}

function rand(n: number): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = Math.random() - 0.5;
  return a;
}

export async function runKernelBench(o: KernelBenchOptions, emit: (l: KernelBenchLine) => void): Promise<void> {
  for (const engine of o.engines) {
    await useEngine(engine);
    const gemm = engine === 'native' ? gemmInfo()?.gemm ?? null : null;
    for (const v of variants()) {
      if (engine === 'cpu' && !(v.m === 1024 && v.k === 400 && !v.tA && !v.tB)) continue; // pure JS: one shape is enough
      const flop = 2 * v.m * v.n * v.k;
      const a = tf.tensor2d(rand(v.m * v.k), v.tA ? [v.k, v.m] : [v.m, v.k]);
      const b = tf.tensor2d(rand(v.k * v.n), v.tB ? [v.n, v.k] : [v.k, v.n]);
      const ms = timeIt(() => tf.matMul(a, b, v.tA, v.tB).dispose(), engine === 'cpu' ? 1 : o.ms);
      emit({ bench: 'kernels', engine, gemm, op: `tf.matMul ${v.label}`, m: v.m, k: v.k, n: v.n, transA: v.tA, transB: v.tB, ms: +ms.toFixed(4), gflops: +(flop / ms / 1e6).toFixed(2) });
      const addon = engineAddon();
      if (engine === 'native' && addon) {
        const av = a.dataSync(), bv = b.dataSync(), out = new Float32Array(v.m * v.n);
        const ms2 = timeIt(() => addon.matmul(av as Float32Array, bv as Float32Array, out, 1, v.m, v.n, v.k, v.tA, v.tB, 0, 0, null, 0, 0, 0), o.ms);
        emit({ bench: 'kernels', engine, gemm, op: `addon sgemm ${v.label}`, m: v.m, k: v.k, n: v.n, transA: v.tA, transB: v.tB, ms: +ms2.toFixed(4), gflops: +(flop / ms2 / 1e6).toFixed(2) });
      }
      tf.dispose([a, b]);
    }
  }
}
