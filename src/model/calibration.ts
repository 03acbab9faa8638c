/**
 * Post-hoc calibration of p_delayed (Platt scaling): p = σ(a + b·logit(p_raw)), fit after training
 * on held-out historical clicks with their promotion-day outcome (the valid split, else the train
 * split's fully labelled clicks). A monotone map: rankings (AUC, GAUC) are unchanged; what it
 * corrects is the level. p_atc·p_transition models the carted path only, so without it a model
 * predicts a fraction of the delayed buys (PCOC 0.2-0.3 on generated worlds), and a delayed head
 * trained on history drifts too.
 */
export interface DelayedCalibration {
  a: number;
  b: number;
  /** clicks it was fit on */
  n: number;
}

const EPS = 1e-6;
const logit = (p: number) => {
  const q = Math.min(Math.max(p, EPS), 1 - EPS);
  return Math.log(q / (1 - q));
};

export function applyCalibration(c: DelayedCalibration, p: Float32Array): void {
  for (let i = 0; i < p.length; i++) p[i] = 1 / (1 + Math.exp(-(c.a + c.b * logit(p[i]))));
}

/** Slope bounds: a fit outside them says the held-out clicks are too few to trust the slope. */
const B_MIN = 0.2, B_MAX = 5;

/**
 * Maximum-likelihood (a, b) by Newton's method on the logistic log-likelihood of y given
 * logit(p). Falls back to the intercept alone (b = 1) when the slope leaves [0.2, 5] or the fit
 * does not converge; null without both classes.
 */
export function fitCalibration(p: ArrayLike<number>, y: ArrayLike<number>, idx: ArrayLike<number>): DelayedCalibration | null {
  const n = idx.length;
  let pos = 0;
  for (let k = 0; k < n; k++) pos += y[idx[k]] > 0.5 ? 1 : 0;
  if (pos === 0 || pos === n) return null;
  // centred scores: the intercept and the slope are then nearly uncorrelated, and Newton's method
  // (with step halving on the log-likelihood) converges from b = 1
  const z = Float64Array.from({ length: n }, (_, k) => logit(p[idx[k]]));
  const zbar = z.reduce((s, x) => s + x, 0) / n;
  for (let k = 0; k < n; k++) z[k] -= zbar;
  const t = Float64Array.from({ length: n }, (_, k) => (y[idx[k]] > 0.5 ? 1 : 0));
  const ll = (a: number, b: number) => {
    let s = 0;
    for (let k = 0; k < n; k++) {
      const u = a + b * z[k];
      // log σ(u) and log σ(−u) without overflow
      s += t[k] * -Math.log1p(Math.exp(-u)) + (1 - t[k]) * -Math.log1p(Math.exp(u));
    }
    return s;
  };
  const newton = (fitSlope: boolean): { a: number; b: number } | null => {
    // a is the intercept on the centred scores; b = 1 keeps the raw slope
    let a = Math.log(pos / (n - pos)) - zbar, b = 1;
    let cur = ll(a, b);
    for (let it = 0; it < 100; it++) {
      let ga = 0, gb = 0, haa = 0, hab = 0, hbb = 0;
      for (let k = 0; k < n; k++) {
        const q = 1 / (1 + Math.exp(-(a + b * z[k])));
        const r = t[k] - q, w = q * (1 - q);
        ga += r; gb += r * z[k];
        haa += w; hab += w * z[k]; hbb += w * z[k] * z[k];
      }
      let da: number, db = 0;
      if (fitSlope) {
        const det = haa * hbb - hab * hab;
        if (!(det > 0)) return null;
        da = (hbb * ga - hab * gb) / det;
        db = (haa * gb - hab * ga) / det;
      } else {
        if (!(haa > 0)) return null;
        da = ga / haa;
      }
      let step = 1, next = ll(a + da, b + db);
      while (!(next >= cur) && step > 1e-6) {
        step /= 2;
        next = ll(a + step * da, b + step * db);
      }
      if (!(next >= cur)) break;
      a += step * da; b += step * db; cur = next;
      if (Math.abs(step * da) < 1e-10 && Math.abs(step * db) < 1e-10) break;
    }
    return Number.isFinite(a) && Number.isFinite(b) ? { a: a - b * zbar, b } : null;
  };
  const full = newton(true);
  if (full && full.b >= B_MIN && full.b <= B_MAX) return { ...full, n };
  const shift = newton(false);
  return shift ? { ...shift, n } : null;
}
