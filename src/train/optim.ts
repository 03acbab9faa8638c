/**
 * In-place optimizer updates on flat Float32Arrays (plain or SharedArrayBuffer-backed, so the
 * parallel trainer can apply them to shared parameter slices). Dense parameters use Adam; embedding
 * rows use lazy Adam or Adagrad, reading and writing only the rows a step touched.
 *
 * These TypeScript versions are the reference (and the fallback without the addon); the engine
 * module swaps in the addon's fused kernels when available (see `setOptimKernels`).
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
  adamDense(p: Float32Array, g: Float32Array, m: Float32Array, v: Float32Array, h: AdamHyper): void;
  lazyAdamRows(table: Float32Array, m: Float32Array, v: Float32Array, dim: number, rows: Int32Array, rowGrad: Float32Array, h: AdamHyper): void;
  adagradRows(table: Float32Array, acc: Float32Array, dim: number, rows: Int32Array, rowGrad: Float32Array, h: AdagradHyper): void;
}

export const tsOptim: OptimKernels = {
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

let active: OptimKernels = tsOptim;

/** The optimizer kernels in use (the addon's when the engine module installed them). */
export function optim(): OptimKernels {
  return active;
}

export function setOptimKernels(k: OptimKernels): void {
  active = k;
}
