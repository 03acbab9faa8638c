import type { SampleColumns } from '../data/batch.js';
import type { DenseStats, DenseTransform } from './config.js';
import { transformDense } from './inputs.js';

import type { BaseRates } from './types.js';

/**
 * Train-split statistics the model starts from (see DEFAULTS_DOC outputBias / denseStats). Both are
 * functions of the train split only, so a resumed or a parallel run derives the same values. (The
 * BaseRates type lives in types.ts, which every model module imports: here it would close a cycle.)
 */
export type { BaseRates } from './types.js';

/** Masked base rates of the train split; a task without any available label gets NaN (no prior). */
export function baseRates(c: Pick<SampleColumns, 'n' | 'labels' | 'mask'>): BaseRates {
  const s = { direct: [0, 0], atc: [0, 0], delayed: [0, 0], transition: [0, 0], noncart: [0, 0] };
  for (let i = 0; i < c.n; i++) {
    const y = c.labels, m = c.mask, o = i * 3;
    if (m[o] > 0) (s.direct[0] += y[o]), s.direct[1]++;
    if (m[o + 1] > 0) (s.atc[0] += y[o + 1]), s.atc[1]++;
    if (m[o + 2] > 0) {
      s.delayed[0] += y[o + 2];
      s.delayed[1]++;
      if (m[o + 1] > 0) {
        const b = y[o + 1] > 0 ? s.transition : s.noncart;
        b[0] += y[o + 2];
        b[1]++;
      }
    }
  }
  const r = (a: number[]) => (a[1] > 0 ? a[0] / a[1] : NaN);
  return { direct: r(s.direct), atc: r(s.atc), delayed: r(s.delayed), transition: r(s.transition), noncart: r(s.noncart) };
}

/** logit of a rate kept away from 0 and 1, so that a task without positives starts finite. */
export function rateLogit(p: number, n = 1e4): number {
  const q = Math.min(Math.max(p, 1 / n), 1 - 1 / n);
  return Math.log(q / (1 - q));
}

/**
 * Mean and standard deviation of each dense column after `how`, over the rows `include` marks (all
 * when null). Computed in float64 with a two-pass (mean, then squared deviations) so that large
 * counts do not cancel.
 */
export function fitDenseStats(dense: Float32Array, width: number, how: DenseTransform, include: Uint8Array | null = null): DenseStats {
  const rows = width > 0 ? dense.length / width : 0;
  const x = transformDense(dense, how);
  const mean = new Float64Array(width), v = new Float64Array(width);
  let n = 0;
  for (let i = 0; i < rows; i++) {
    if (include && !include[i]) continue;
    n++;
    for (let j = 0; j < width; j++) mean[j] += x[i * width + j];
  }
  for (let j = 0; j < width; j++) mean[j] = n > 0 ? mean[j] / n : 0;
  for (let i = 0; i < rows; i++) if (!include || include[i]) for (let j = 0; j < width; j++) v[j] += (x[i * width + j] - mean[j]) ** 2;
  const std = Array.from(v, (s) => {
    const sd = n > 0 ? Math.sqrt(s / n) : 0;
    // a float32 column that is constant can still show rounding-level spread
    return sd > 1e-6 ? sd : 0;
  });
  return { mean: Array.from(mean), std };
}

/**
 * The rows to fit the statistics on: those with every label available (delayed unmasked). The
 * delayed path learns only from them, so a column constant on them (the historical-window stats of
 * the first historical promotion's samples, which have no history) must not reach the network: fit
 * on the whole split it would be standardized to a constant ≠ 0 there, its weights would be trained
 * as a second bias, and the column's test-time values (the target window has history) would shift
 * the delayed predictions. Fit here, such a column has std 0 and maps to 0 everywhere. When no row
 * has all labels, every row.
 */
export function fullyLabelledRows(c: Pick<SampleColumns, 'n' | 'mask'>): Uint8Array | null {
  const inc = new Uint8Array(c.n);
  let k = 0;
  for (let i = 0; i < c.n; i++) if (c.mask[i * 3] > 0 && c.mask[i * 3 + 1] > 0 && c.mask[i * 3 + 2] > 0) (inc[i] = 1), k++;
  return k > 0 ? inc : null;
}

/** (x − mean)/std in place per column; zero-variance columns become 0. */
export function standardizeInPlace(x: Float32Array, width: number, st: DenseStats): Float32Array {
  const n = width > 0 ? x.length / width : 0;
  const inv = st.std.map((s) => (s > 0 ? 1 / s : 0));
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < width; j++) {
      const k = i * width + j;
      x[k] = inv[j] === 0 ? 0 : (x[k] - st.mean[j]) * inv[j];
    }
  }
  return x;
}
