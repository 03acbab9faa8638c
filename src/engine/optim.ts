import { engineAddon } from './native/addon.js';
import { nativeOptim } from './native/optim.js';
import type { EngineName } from './names.js';

/**
 * In-place optimizer updates on flat Float32Arrays (plain or SharedArrayBuffer-backed, so the
 * parallel trainer can apply them to shared parameter slices). Dense parameters use Adam; embedding
 * rows use lazy Adam or Adagrad, reading and writing only the rows a step touched.
 *
 * The engine owns these kernels: `tsOptim` is the reference (and the fallback without the addon),
 * `optimKernels(engine)` the set an engine runs with (the addon's fused twins, same bits). The
 * trainer and the parallel workers receive them as an argument.
 */
export interface AdamHyper {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  /** 1-based step count for bias correction */
  step: number;
}
export interface AdagradHyper {
  lr: number;
  eps: number;
}

export interface OptimKernels {
  /** 'addon': the fused kernels of native/engine/optim.cc (the parallel workers then fuse their reduce too) */
  readonly backend: 'ts' | 'addon';
  adamDense(p: Float32Array, g: Float32Array, m: Float32Array, v: Float32Array, h: AdamHyper): void;
  lazyAdamRows(table: Float32Array, m: Float32Array, v: Float32Array, dim: number, rows: Int32Array, rowGrad: Float32Array, h: AdamHyper): void;
  adagradRows(table: Float32Array, acc: Float32Array, dim: number, rows: Int32Array, rowGrad: Float32Array, h: AdagradHyper): void;
}

export const tsOptim: OptimKernels = {
  backend: 'ts',
  adamDense(p, g, m, v, h) {
    const { lr, beta1: b1, beta2: b2, eps } = h;
    const c1 = 1 - Math.pow(b1, h.step), c2 = 1 - Math.pow(b2, h.step);
    const stepSize = lr / c1, sc2 = 1 / Math.sqrt(c2);
    for (let i = 0; i < p.length; i++) {
      const gi = g[i];
      const mi = (m[i] = b1 * m[i] + (1 - b1) * gi);
      const vi = (v[i] = b2 * v[i] + (1 - b2) * gi * gi);
      p[i] -= (stepSize * mi) / (Math.sqrt(vi) * sc2 + eps);
    }
  },
  lazyAdamRows(table, m, v, dim, rows, rowGrad, h) {
    const { lr, beta1: b1, beta2: b2, eps } = h;
    const c1 = 1 - Math.pow(b1, h.step), c2 = 1 - Math.pow(b2, h.step);
    const stepSize = lr / c1, sc2 = 1 / Math.sqrt(c2);
    for (let r = 0; r < rows.length; r++) {
      const base = rows[r] * dim, gb = r * dim;
      for (let j = 0; j < dim; j++) {
        const gi = rowGrad[gb + j];
        const mi = (m[base + j] = b1 * m[base + j] + (1 - b1) * gi);
        const vi = (v[base + j] = b2 * v[base + j] + (1 - b2) * gi * gi);
        table[base + j] -= (stepSize * mi) / (Math.sqrt(vi) * sc2 + eps);
      }
    }
  },
  adagradRows(table, acc, dim, rows, rowGrad, h) {
    for (let r = 0; r < rows.length; r++) {
      const base = rows[r] * dim, gb = r * dim;
      for (let j = 0; j < dim; j++) {
        const gi = rowGrad[gb + j];
        const a = (acc[base + j] += gi * gi);
        table[base + j] -= (h.lr * gi) / (Math.sqrt(a) + h.eps);
      }
    }
  },
};

/**
 * The optimizer kernels for an engine: the addon's wherever it is loaded (the native, tensorflow and
 * cuda engines, and 'auto', which picks cpu only when there is no addon), the TypeScript reference on
 * cpu. Both compute the same bits; the addon's are faster. The cuda engine keeps the parameters and
 * embedding tables on the host too (README "GPU engine"): it reads back the gradients, and these
 * host kernels apply them, so its optimizer contract is the others'.
 */
export function optimKernels(engine: EngineName): OptimKernels {
  if (engine === 'cpu') return tsOptim;
  const a = engineAddon();
  return a ? nativeOptim(a) : tsOptim;
}

/** How the embedding rows are updated (TrainConfig.tableOptimizer). */
export type TableOptimizer = 'lazyAdam' | 'adagrad';
export const TABLE_OPTIMIZERS: readonly TableOptimizer[] = ['lazyAdam', 'adagrad'];

/** The embedding rows' optimizer state: lazy Adam uses m and v; Adagrad keeps its accumulator in m and leaves v empty. */
export interface RowState {
  table: Float32Array;
  m: Float32Array;
  v: Float32Array;
}

/**
 * One update of the embedding rows `rows` by the table optimizer `which` (Adagrad reads `h.lr` and
 * `h.eps` only). The one place in TypeScript that picks lazy Adam or Adagrad; the addon's fused
 * reduce (native/parallel/reduce.cc) takes the same name.
 */
export function updateRows(k: OptimKernels, which: TableOptimizer, s: RowState, dim: number, rows: Int32Array, rowGrad: Float32Array, h: AdamHyper): void {
  if (which === 'lazyAdam') k.lazyAdamRows(s.table, s.m, s.v, dim, rows, rowGrad, h);
  else if (which === 'adagrad') k.adagradRows(s.table, s.m, dim, rows, rowGrad, h);
  else throw new Error(`unknown table optimizer '${String(which)}'`);
}
