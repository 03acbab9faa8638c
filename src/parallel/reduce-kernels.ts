import { loadAddon, type AddonFunctions } from '../native.js';
import { updateRows, type AdamHyper, type OptimKernels, type RowState, type TableOptimizer } from '../engine/optim.js';
import { firstNonFinite } from '../train/step.js';
import { combineOwnedRows, sumSlice } from './reduce.js';

export type { RowState } from '../engine/optim.js';

/**
 * A worker's two updates in the reduce-scatter. The addon fuses each into one pass over shared
 * memory (native/parallel/reduce.cc); the TypeScript version, reduce.ts's sum and merge followed by
 * the optimizer kernels, is its oracle and the fallback. Both give the same bits.
 */
export interface ReduceKernels {
  /** params[lo, hi) ← Adam with the gradient Σ_u grads[u·p + i] (params, m, v: the whole vectors) */
  denseAdam(grads: Float32Array, p: number, workers: number, lo: number, hi: number,
    params: Float32Array, m: Float32Array, v: Float32Array, h: AdamHyper): void;
  /**
   * The rows worker w owns (row % workers === w) among every worker's published rows: their
   * gradients summed over workers, then the table optimizer `which` (lazy Adam, or Adagrad with
   * `h.lr`, `h.eps`) applied once. Returns how many rows it applied.
   */
  ownedRows(workers: number, w: number, counts: Int32Array, rowIdx: Int32Array, rowGrad: Float32Array, cap: number, dim: number,
    s: RowState, which: TableOptimizer, h: AdamHyper): number;
  /** index of the first NaN or ±Inf in a (gradient checked before it is shared), or -1 */
  firstNonFinite(a: Float32Array): number;
}

/** The TypeScript reduce over the given optimizer kernels. */
export function tsReduceKernels(kernels: OptimKernels): ReduceKernels {
  let scratch = new Float32Array(0), outRows = new Int32Array(0), outGrad = new Float32Array(0);
  return {
    denseAdam(grads, p, workers, lo, hi, params, m, v, h) {
      if (scratch.length < hi - lo) scratch = new Float32Array(hi - lo);
      const g = scratch.subarray(0, hi - lo);
      sumSlice(grads, p, workers, lo, hi, g);
      kernels.adamDense(params.subarray(lo, hi), g, m.subarray(lo, hi), v.subarray(lo, hi), h);
    },
    ownedRows(workers, w, counts, rowIdx, rowGrad, cap, dim, s, which, h) {
      let touched = 0;
      for (let u = 0; u < workers; u++) touched += counts[u];
      if (outRows.length < touched) {
        outRows = new Int32Array(touched);
        outGrad = new Float32Array(touched * dim);
      }
      const n = combineOwnedRows(workers, w, counts, rowIdx, rowGrad, cap, dim, outRows, outGrad);
      if (n > 0) updateRows(kernels, which, s, dim, outRows.subarray(0, n), outGrad.subarray(0, n * dim), h);
      return n;
    },
    firstNonFinite,
  };
}

type ReduceAddon = Pick<AddonFunctions, 'reduceDenseAdam' | 'reduceOwnedRows' | 'firstNonFinite'>;

/** The addon's fused reduce, or undefined when the addon is missing or predates it. */
export function nativeReduceKernels(): ReduceKernels | undefined {
  const a = loadAddon();
  if (!a || typeof a.reduceDenseAdam !== 'function' || typeof a.reduceOwnedRows !== 'function' || typeof a.firstNonFinite !== 'function') return undefined;
  const { reduceDenseAdam, reduceOwnedRows, firstNonFinite: nonFinite } = a as ReduceAddon;
  return {
    denseAdam: (grads, p, workers, lo, hi, params, m, v, h) => reduceDenseAdam(grads, p, workers, lo, hi, params, m, v, h.lr, h.beta1, h.beta2, h.eps, h.step),
    ownedRows: (workers, w, counts, rowIdx, rowGrad, cap, dim, s, which, h) =>
      reduceOwnedRows(workers, w, counts, rowIdx, rowGrad, cap, dim, s.table, s.m, s.v, which, h.lr, h.beta1, h.beta2, h.eps, h.step),
    firstNonFinite: nonFinite,
  };
}

/**
 * The reduce over an engine's optimizer kernels (`optimKernels(engine)`): fused in the addon when
 * they are the addon's (native and tensorflow engines), TypeScript over them otherwise (the cpu
 * engine, or no addon).
 */
export function reduceKernels(kernels: OptimKernels): ReduceKernels {
  return (kernels.backend === 'addon' && nativeReduceKernels()) || tsReduceKernels(kernels);
}
