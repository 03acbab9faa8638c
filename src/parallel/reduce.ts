/**
 * The arithmetic of gradient averaging, as pure functions over flat arrays so it is tested without
 * workers. Summation order is fixed (worker 0, 1, …, W-1) so a run is reproducible bit for bit.
 */

/** Samples [lo, hi) of an n-sample global batch that worker w computes: contiguous, sizes differ by ≤ 1. */
export function microRange(n: number, workers: number, w: number): [number, number] {
  return [Math.floor((w * n) / workers), Math.floor(((w + 1) * n) / workers)];
}

/**
 * The slice [lo, hi) of the flat dense vector (length p) that worker w owns in the reduce-scatter.
 * Boundaries are rounded to 16 floats (one cache line) so two workers never write the same line.
 */
export function ownedSlice(p: number, workers: number, w: number): [number, number] {
  const cut = (k: number) => (k >= workers ? p : Math.min(p, Math.round((k * p) / workers / 16) * 16));
  return [cut(w), cut(w + 1)];
}

/** out[i] = Σ_u grads[u·p + lo + i] for u = 0 … W-1, in that order. */
export function sumSlice(grads: Float32Array, p: number, workers: number, lo: number, hi: number, out: Float32Array): void {
  const len = hi - lo;
  out.set(grads.subarray(lo, hi));
  for (let u = 1; u < workers; u++) {
    const base = u * p + lo;
    for (let i = 0; i < len; i++) out[i] += grads[base + i];
  }
}

/** The worker that combines and applies row r's gradient. */
export function rowOwner(r: number, workers: number): number {
  return r % workers;
}

/**
 * Merges the touched rows every worker published (each list ascending, unique) and keeps those
 * worker `w` owns: writes them ascending into outRows and their summed gradients (contributions
 * added in worker order) into outGrad. Returns how many rows it wrote.
 *
 * counts[u]: rows worker u published; rowIdx[u·cap …], rowGrad[(u·cap + k)·dim …] its rows/grads.
 */
export function combineOwnedRows(
  workers: number, w: number, counts: Int32Array, rowIdx: Int32Array, rowGrad: Float32Array, cap: number, dim: number,
  outRows: Int32Array, outGrad: Float32Array,
): number {
  const pos = new Int32Array(workers);
  const skip = () => {
    for (let u = 0; u < workers; u++) {
      const end = counts[u];
      let k = pos[u];
      while (k < end && rowIdx[u * cap + k] % workers !== w) k++;
      pos[u] = k;
    }
  };
  let n = 0;
  skip();
  for (;;) {
    let r = -1;
    for (let u = 0; u < workers; u++) {
      if (pos[u] < counts[u]) {
        const x = rowIdx[u * cap + pos[u]];
        if (r < 0 || x < r) r = x;
      }
    }
    if (r < 0) break;
    outRows[n] = r;
    const ob = n * dim;
    let first = true;
    for (let u = 0; u < workers; u++) {
      const k = pos[u];
      if (k < counts[u] && rowIdx[u * cap + k] === r) {
        const gb = (u * cap + k) * dim;
        if (first) {
          for (let j = 0; j < dim; j++) outGrad[ob + j] = rowGrad[gb + j];
          first = false;
        } else {
          for (let j = 0; j < dim; j++) outGrad[ob + j] += rowGrad[gb + j];
        }
        pos[u] = k + 1;
      }
    }
    n++;
    skip();
  }
  return n;
}
