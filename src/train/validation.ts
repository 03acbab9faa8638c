import type { SampleColumns } from '../data/batch.js';
import type { Predictions } from '../model/types.js';

/** Probability clip for logloss, so one confident mistake costs a finite amount. */
export const LOGLOSS_EPS = 1e-7;

/** Mean binary cross-entropy of the samples `idx` (all when absent); null without samples. */
export function logloss(pred: ArrayLike<number>, label: ArrayLike<number>, idx?: ArrayLike<number>): number | null {
  const n = idx ? idx.length : pred.length;
  if (n === 0) return null;
  let s = 0;
  for (let i = 0; i < n; i++) {
    const j = idx ? idx[i] : i;
    const p = Math.min(1 - LOGLOSS_EPS, Math.max(LOGLOSS_EPS, pred[j]));
    s -= label[j] > 0.5 ? Math.log(p) : Math.log(1 - p);
  }
  return s / n;
}

/**
 * Validation logloss per task (the trainer's early-stopping signal): delayed on all clicks with the
 * label, plus direct and atc. `sum` adds the available ones. (The evaluation reports re-export it.)
 */
export function validationLoglosses(cols: SampleColumns, p: Predictions): { direct: number | null; atc: number | null; delayed: number | null; sum: number } {
  const out = { direct: null as number | null, atc: null as number | null, delayed: null as number | null, sum: 0 };
  (['direct', 'atc', 'delayed'] as const).forEach((t, col) => {
    const idx: number[] = [];
    const label = new Float32Array(cols.n);
    for (let i = 0; i < cols.n; i++) {
      if (cols.mask[i * 3 + col] > 0) {
        idx.push(i);
        label[i] = cols.labels[i * 3 + col];
      }
    }
    const v = logloss(p[t], label, idx);
    out[t] = v;
    if (v !== null) out.sum += v;
  });
  return out;
}
