import { Rng } from '../data/generate.js';

/**
 * Paired bootstrap over users (the unit whose clicks are not independent): each replicate draws
 * the test split's users with replacement, and every model is scored on the same draw, so a
 * difference between two models keeps their shared noise out of its interval.
 *
 * A replicate is a weight per sample (how often its user was drawn); AUC under weights needs one
 * pass over the samples in score order, so each prediction vector is sorted once (`ScoredOrder`)
 * and each replicate costs O(n).
 */

/** Samples of one prediction vector in ascending score order, with tie groups. */
export interface ScoredOrder {
  order: Uint32Array;
  /** tieEnd[k] = end (exclusive) of the tie group that position k belongs to */
  tieEnd: Uint32Array;
}

export function scoredOrder(pred: ArrayLike<number>, idx: ArrayLike<number>): ScoredOrder {
  const n = idx.length;
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = idx[i];
  order.sort((a, b) => pred[a] - pred[b]);
  const tieEnd = new Uint32Array(n);
  for (let i = 0; i < n; ) {
    let j = i + 1;
    while (j < n && pred[order[j]] === pred[order[i]]) j++;
    tieEnd.fill(j, i, j);
    i = j;
  }
  return { order, tieEnd };
}

/**
 * Weighted ROC AUC (ties count half): Σ_pos w·(W_neg below + W_neg tied / 2) / (W_pos·W_neg).
 * Equals `auc` of metrics.ts when every weight is 1.
 */
export function weightedAuc(o: ScoredOrder, label: ArrayLike<number>, w: ArrayLike<number>): number | null {
  const { order, tieEnd } = o;
  let negBelow = 0, acc = 0, wPos = 0, wNeg = 0;
  for (let i = 0; i < order.length; ) {
    const j = tieEnd[i];
    let gp = 0, gn = 0;
    for (let k = i; k < j; k++) {
      const s = order[k];
      if (label[s] > 0.5) gp += w[s];
      else gn += w[s];
    }
    acc += gp * (negBelow + gn / 2);
    negBelow += gn;
    wPos += gp;
    wNeg += gn;
    i = j;
  }
  return wPos > 0 && wNeg > 0 ? acc / (wPos * wNeg) : null;
}

/**
 * `replicates` user-resampling weight vectors over the samples `idx` (weights of other samples
 * stay 0), generated lazily so only one is in memory; the same seed gives the same draws.
 */
export function* userBootstrap(user: ArrayLike<number>, idx: ArrayLike<number>, replicates: number, seed: number): Generator<Float64Array> {
  const ids = new Map<number, number>();
  const userOf = new Int32Array(idx.length);
  for (let i = 0; i < idx.length; i++) {
    const u = user[idx[i]];
    let k = ids.get(u);
    if (k === undefined) ids.set(u, (k = ids.size));
    userOf[i] = k;
  }
  const U = ids.size;
  const rng = new Rng(seed);
  const count = new Float64Array(U);
  let n = 0;
  for (let i = 0; i < idx.length; i++) if (idx[i] + 1 > n) n = idx[i] + 1;
  const w = new Float64Array(n);
  for (let r = 0; r < replicates; r++) {
    count.fill(0);
    for (let k = 0; k < U; k++) count[rng.int(U)]++;
    for (let i = 0; i < idx.length; i++) w[idx[i]] = count[userOf[i]];
    yield w;
  }
}

/** The [lo, hi] percentile interval (default 95 %) of a sample. */
export function percentileInterval(xs: readonly number[], level = 0.95): [number, number] | null {
  const a = xs.filter((x) => Number.isFinite(x)).sort((p, q) => p - q);
  if (a.length === 0) return null;
  const at = (q: number) => {
    const pos = q * (a.length - 1);
    const lo = Math.floor(pos), hi = Math.ceil(pos);
    return a[lo] + (a[hi] - a[lo]) * (pos - lo);
  };
  return [at((1 - level) / 2), at(1 - (1 - level) / 2)];
}

export function meanStd(xs: readonly (number | null)[]): { mean: number | null; std: number | null; n: number } {
  const a = xs.filter((x): x is number => x !== null && Number.isFinite(x));
  if (a.length === 0) return { mean: null, std: null, n: 0 };
  const mean = a.reduce((s, x) => s + x, 0) / a.length;
  const std = a.length > 1 ? Math.sqrt(a.reduce((s, x) => s + (x - mean) ** 2, 0) / (a.length - 1)) : 0;
  return { mean, std, n: a.length };
}
