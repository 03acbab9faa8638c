import type { Batch } from '../../src/data/batch.js';
import type { GradResult, NetModel, TermName } from '../../src/model/index.js';

/**
 * Finite-difference oracle for one loss term: central differences of the term's value (forward
 * pass only) against the model's analytic gradient of that term alone, on the k largest analytic
 * components of the dense parameters and of the embedding rows. Float32 only (tfjs has no
 * float64), so the step is large enough to dominate rounding and small enough to rarely cross a
 * ReLU kink; errors are relative to the component. Detached values (stop-gradient sites) are
 * pinned at their base-point values while differencing: that pinned function is exactly what the
 * stop-gradient model differentiates, so a missing or extra stop-gradient fails the check.
 */
export interface FdReport {
  checked: number;
  worst: number;
  maxAbsGrad: number;
  details: string[];
}

export function fdCheck(model: NetModel, params: Float32Array, table: Float32Array, batch: Batch, term: TermName, k = 6, h = 2e-3): { dense: FdReport; rows: FdReport } {
  const hooks = model.hooks;
  hooks.record = new Map();
  const g = model.gradTerms(params, table, batch, { only: [term] });
  hooks.pinned = hooks.record;
  hooks.record = undefined;
  try {
    return compare(model, g, params, table, batch, term, k, h);
  } finally {
    hooks.pinned = undefined;
  }
}

function compare(model: NetModel, g: GradResult, params: Float32Array, table: Float32Array, batch: Batch, term: TermName, k: number, h: number) {
  const value = (p: Float32Array, t: Float32Array) => model.lossTerms(p, t, batch)[term];
  const topK = (a: Float32Array) =>
    Array.from(a.keys())
      .sort((x, y) => Math.abs(a[y]) - Math.abs(a[x]))
      .slice(0, k);
  // The k largest overall, plus the largest of every weight matrix, so that small blocks (the
  // attention unit, the gates) are checked too and not only the towers that dominate the top k.
  const picks = new Set(topK(g.denseGrad));
  const floor = 1e-3;
  model.layout.specs.forEach((s, si) => {
    if (!s.name.endsWith('/w')) return;
    const off = model.layout.offsets[si];
    const n = s.shape.reduce((a, b) => a * b, 1);
    let best = -1;
    for (let j = off; j < off + n; j++) if (best < 0 || Math.abs(g.denseGrad[j]) > Math.abs(g.denseGrad[best])) best = j;
    if (Math.abs(g.denseGrad[best]) >= floor) picks.add(best);
  });
  const dense = report([...picks].map((i) => {
    const p = params.slice();
    p[i] = params[i] + h;
    const up = value(p, table);
    p[i] = params[i] - h;
    const down = value(p, table);
    return { what: model.layout.specs[specOf(model, i)].name + `[${i - model.layout.offsets[specOf(model, i)]}]`, analytic: g.denseGrad[i], fd: (up - down) / (2 * h) };
  }));
  const D = model.dim;
  const rows = report(topK(g.rowGrad).map((j) => {
    const ti = g.rows[Math.floor(j / D)] * D + (j % D);
    const t = table.slice();
    t[ti] = table[ti] + h;
    const up = value(params, t);
    t[ti] = table[ti] - h;
    const down = value(params, t);
    return { what: `row ${g.rows[Math.floor(j / D)]}[${j % D}]`, analytic: g.rowGrad[j], fd: (up - down) / (2 * h) };
  }));
  return { dense, rows };
}

function specOf(model: NetModel, i: number): number {
  const o = model.layout.offsets;
  let s = 0;
  while (s + 1 < o.length && o[s + 1] <= i) s++;
  return s;
}

function report(xs: { what: string; analytic: number; fd: number }[]): FdReport {
  let worst = 0, maxAbsGrad = 0;
  const details: string[] = [];
  for (const x of xs) {
    // Absolute slack of 1e-5 covers float32 rounding of the loss divided by 2h on small components.
    const rel = Math.max(0, Math.abs(x.fd - x.analytic) - 1e-5) / Math.max(Math.abs(x.analytic), 1e-6);
    worst = Math.max(worst, rel);
    maxAbsGrad = Math.max(maxAbsGrad, Math.abs(x.analytic));
    details.push(`${x.what}: analytic ${x.analytic.toExponential(4)} fd ${x.fd.toExponential(4)} rel ${rel.toExponential(2)}`);
  }
  return { checked: xs.length, worst, maxAbsGrad, details };
}
