// logloss is defined with the trainer's validation (a lower layer): one formula for both
export { logloss, LOGLOSS_EPS } from '../train/validation.js';
import { logloss } from '../train/validation.js';

/**
 * Binary-classification metrics over flat arrays. Each returns `null` where it is undefined (AUC
 * without both classes, PCOC without positives), never NaN, so reports serialize cleanly.
 */


/**
 * ROC AUC by the rank-sum (Mann–Whitney) formula with average ranks for tied scores, so a constant
 * predictor gets exactly 0.5.
 */
export function auc(pred: ArrayLike<number>, label: ArrayLike<number>, idx?: ArrayLike<number>): number | null {
  const n = idx ? idx.length : pred.length;
  if (n === 0) return null;
  const s = new Float64Array(n), y = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const j = idx ? idx[i] : i;
    s[i] = pred[j];
    y[i] = label[j] > 0.5 ? 1 : 0;
  }
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  order.sort((a, b) => s[a] - s[b]);
  let nPos = 0, rankSumPos = 0;
  for (let i = 0; i < n; ) {
    let j = i + 1;
    while (j < n && s[order[j]] === s[order[i]]) j++;
    // ranks i+1 … j share their average
    const avg = (i + 1 + j) / 2;
    for (let k = i; k < j; k++) if (y[order[k]]) {
      nPos++;
      rankSumPos += avg;
    }
    i = j;
  }
  const nNeg = n - nPos;
  if (nPos === 0 || nNeg === 0) return null;
  return (rankSumPos - (nPos * (nPos + 1)) / 2) / (nPos * nNeg);
}

/**
 * Group AUC: the AUC within each group (user) that has both classes, averaged with weights = the
 * group's sample count. `groupsUsed` counts those groups.
 */
export function gauc(pred: ArrayLike<number>, label: ArrayLike<number>, group: ArrayLike<number>, idx?: ArrayLike<number>): { gauc: number | null; groupsUsed: number } {
  const n = idx ? idx.length : pred.length;
  const byGroup = new Map<number, number[]>();
  for (let i = 0; i < n; i++) {
    const j = idx ? idx[i] : i;
    let a = byGroup.get(group[j]);
    if (!a) byGroup.set(group[j], (a = []));
    a.push(j);
  }
  let wsum = 0, acc = 0, used = 0;
  for (const members of byGroup.values()) {
    const a = auc(pred, label, members);
    if (a === null) continue;
    acc += a * members.length;
    wsum += members.length;
    used++;
  }
  return { gauc: wsum > 0 ? acc / wsum : null, groupsUsed: used };
}

/** Predicted over observed conversion rate: mean prediction / mean label (1 = calibrated). */
export function pcoc(pred: ArrayLike<number>, label: ArrayLike<number>, idx?: ArrayLike<number>): number | null {
  const n = idx ? idx.length : pred.length;
  let sp = 0, sy = 0;
  for (let i = 0; i < n; i++) {
    const j = idx ? idx[i] : i;
    sp += pred[j];
    sy += label[j] > 0.5 ? 1 : 0;
  }
  return sy > 0 ? sp / sy : null;
}

/** Pearson correlation; null when either side is constant or fewer than 2 points. */
export function pearson(x: ArrayLike<number>, y: ArrayLike<number>): number | null {
  const n = Math.min(x.length, y.length);
  if (n < 2) return null;
  let mx = 0, my = 0;
  for (let i = 0; i < n; i++) {
    mx += x[i];
    my += y[i];
  }
  mx /= n;
  my /= n;
  let sxy = 0, sxx = 0, syy = 0;
  for (let i = 0; i < n; i++) {
    const dx = x[i] - mx, dy = y[i] - my;
    sxy += dx * dy;
    sxx += dx * dx;
    syy += dy * dy;
  }
  if (sxx === 0 || syy === 0) return null;
  return sxy / Math.sqrt(sxx * syy);
}
