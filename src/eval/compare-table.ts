import type { SampleColumns } from '../data/batch.js';
import { T_ATC, T_DELAYED, T_DIRECT } from '../data/types.js';
import type { ModelName, Predictions } from '../model/types.js';
import type { EvalReport } from './report.js';
import { auc } from './metrics.js';
import { meanStd, percentileInterval, scoredOrder, userBootstrap, weightedAuc, type ScoredOrder } from './bootstrap.js';

/**
 * The comparison table of `cmdcm compare` (the workflow that trains the models is
 * src/workflows/compare.ts): per model the mean ± std over seeds of each metric, the paired
 * bootstrap interval of its delayed-AUC difference to cmdcm, and the leak guard against the
 * oracle row of the truth probabilities.
 */

/** The metrics tabulated per model (means over the seeds; `std` beside them). */
export const COMPARE_METRICS = ['delayedAuc', 'delayedGauc', 'delayedLogloss', 'delayedPcoc', 'atcAuc', 'directAuc', 'transitionAuc', 'transitionPearson'] as const;
export type CompareMetric = (typeof COMPARE_METRICS)[number];

export interface Interval {
  /** point estimate (means over seeds of the full test split) */
  mean: number;
  lo: number;
  hi: number;
}

export interface CompareRow extends Record<CompareMetric, number | null> {
  /** a model, or 'oracle' for the truth probabilities */
  model: ModelName | 'oracle';
  seeds: number[];
  /** std over the seeds of each metric (0 with one seed; null where undefined) */
  std: Record<CompareMetric, number | null>;
  truthMatched?: number;
  /** cmdcm's delayed AUC minus this model's: paired over seeds and bootstrap draws of users */
  deltaDelayedAuc?: Interval | null;
  /** tasks (atc, direct) whose AUC beats the oracle's beyond noise: a probable label leak */
  leak: string[];
  /** mean over seeds */
  steps: number;
  seconds: number;
  warnings: string[];
  /** the first seed's report (all reports: `reports`) */
  report: EvalReport;
  reports: EvalReport[];
  runDir?: string;
}

/** One model's predictions on the test split, per seed (what the intervals are computed from). */
export interface Scored {
  model: ModelName | 'oracle';
  seeds: number[];
  preds: Predictions[];
  reports: EvalReport[];
  pearson: (number | null)[];
  /** test clicks that found their truth row */
  truthMatched?: number;
  steps: number[];
  seconds: number[];
  runDir?: string;
}

export function summarize(s: Scored, withTruth: boolean): CompareRow {
  const per = (r: EvalReport, pearson: number | null): Record<CompareMetric, number | null> => ({
    delayedAuc: r.tasks.delayed.auc,
    delayedGauc: r.tasks.delayed.gauc,
    delayedLogloss: r.tasks.delayed.logloss,
    delayedPcoc: r.tasks.delayed.pcoc,
    atcAuc: r.tasks.atc.auc,
    directAuc: r.tasks.direct.auc,
    transitionAuc: r.tasks.transition.auc,
    transitionPearson: withTruth ? pearson : null,
  });
  const all = s.reports.map((r, j) => per(r, s.pearson[j]));
  const mean = {} as Record<CompareMetric, number | null>, std = {} as Record<CompareMetric, number | null>;
  for (const m of COMPARE_METRICS) {
    const st = meanStd(all.map((a) => a[m]));
    mean[m] = st.mean;
    std[m] = st.std;
  }
  const avg = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(xs.length, 1);
  return {
    model: s.model, seeds: s.seeds, ...mean, std, leak: [], truthMatched: s.truthMatched,
    steps: avg(s.steps), seconds: avg(s.seconds),
    warnings: [...new Set(s.reports.flatMap((r) => r.warnings))],
    report: s.reports[0], reports: s.reports, runDir: s.runDir,
  };
}

/** Test-split samples with a task's label available (the same selection as the report's). */
function taskIdx(c: SampleColumns, task: number): Int32Array {
  const out: number[] = [];
  for (let i = 0; i < c.n; i++) if (c.mask[i * 3 + task] > 0) out.push(i);
  return Int32Array.from(out);
}

/**
 * The paired intervals: Δ delayed AUC of each model against cmdcm, and the leak guard (a model's
 * atc / direct AUC minus the oracle's). Each replicate scores every model and seed on one draw.
 */
export function bootstrapIntervals(test: SampleColumns, scored: Scored[], rows: CompareRow[], B: number, seed: number): void {
  const ref = scored.findIndex((s) => s.model === 'cmdcm');
  const oracle = scored.findIndex((s) => s.model === 'oracle');
  if (B === 0 || (ref < 0 && oracle < 0)) return;
  const label = (task: number) => {
    const y = new Float32Array(test.n);
    for (let i = 0; i < test.n; i++) y[i] = test.labels[i * 3 + task];
    return y;
  };
  const tasks = [
    { name: 'delayed', col: T_DELAYED, key: 'delayed' as const },
    { name: 'atc', col: T_ATC, key: 'atc' as const },
    { name: 'direct', col: T_DIRECT, key: 'direct' as const },
  ];
  const idx = tasks.map((t) => taskIdx(test, t.col));
  const ys = tasks.map((t) => label(t.col));
  // orders[task][model][seed]
  const orders: ScoredOrder[][][] = tasks.map((t, ti) => scored.map((s) => s.preds.map((p) => scoredOrder(p[t.key], idx[ti]))));
  const full = tasks.map((t, ti) => scored.map((s) => meanOf(s.preds.map((p) => auc(p[t.key], ys[ti], idx[ti])))));
  const draws: number[][][] = tasks.map(() => scored.map(() => []));
  // one set of user draws over all test clicks: every task's AUC sees the same resampled users
  const all = Int32Array.from({ length: test.n }, (_, i) => i);
  for (const w of userBootstrap(test.user, all, B, seed ^ 0x5eed)) {
    tasks.forEach((_, ti) => scored.forEach((__, mi) => draws[ti][mi].push(meanOf(orders[ti][mi].map((o) => weightedAuc(o, ys[ti], w))) ?? NaN)));
  }
  const interval = (ti: number, a: number, b: number): Interval | null => {
    const fa = full[ti][a], fb = full[ti][b];
    const iv = percentileInterval(draws[ti][a].map((x, r) => x - draws[ti][b][r]));
    return fa === null || fb === null || !iv ? null : { mean: fa - fb, lo: iv[0], hi: iv[1] };
  };
  scored.forEach((s, mi) => {
    const row = rows[mi];
    if (ref >= 0 && mi !== ref) row.deltaDelayedAuc = interval(0, ref, mi);
    if (oracle >= 0 && s.model !== 'oracle') {
      for (const ti of [1, 2]) {
        const modeled = row.report.tasks[tasks[ti].key].modeled;
        const iv = modeled ? interval(ti, mi, oracle) : null;
        if (iv && iv.lo > 0) {
          row.leak.push(tasks[ti].name);
          row.warnings.push(`${tasks[ti].name} AUC beats the truth probabilities' by ${iv.mean.toFixed(4)} (95 % interval ${iv.lo.toFixed(4)} .. ${iv.hi.toFixed(4)}): the test clicks' own outcomes probably leak into training`);
        }
      }
    }
  });
}

function meanOf(xs: (number | null)[]): number | null {
  const a = xs.filter((x): x is number => x !== null);
  return a.length ? a.reduce((s, x) => s + x, 0) / a.length : null;
}

const f = (v: number | null | undefined, d = 4) => (v === null || v === undefined ? 'n/a' : v.toFixed(d));

/** One Markdown table: a row per model (mean ± std over seeds), the oracle last. */
export function compareMarkdown(rows: CompareRow[]): string {
  const withTruth = rows.some((r) => r.transitionPearson !== null);
  const multi = rows.some((r) => r.seeds.length > 1);
  const withDelta = rows.some((r) => r.deltaDelayedAuc !== undefined);
  const head = ['model', 'delayed AUC'];
  if (withDelta) head.push('Δ vs cmdcm [95 % CI]');
  head.push('delayed GAUC', 'delayed logloss', 'delayed PCOC', 'atc AUC', 'direct AUC', 'transition AUC');
  if (withTruth) head.push('transition Pearson vs truth');
  head.push('steps', 'train s');
  const lines = [`| ${head.join(' | ')} |`, `|${head.map((_, i) => (i === 0 ? '---' : '---:')).join('|')}|`];
  for (const r of rows) {
    const cell = (m: CompareMetric, d = 4) => (multi && r.seeds.length > 1 && r[m] !== null ? `${f(r[m], d)} ± ${f(r.std[m], d)}` : f(r[m], d));
    // a task the model has no head for shows as a prior, not as a meaningless 0.5
    const task = (t: 'atc' | 'direct', m: CompareMetric) => (r.report.tasks[t].modeled ? cell(m) + (r.leak.includes(t) ? ' ⚠ leak?' : '') : 'prior');
    const name = r.model === 'oracle' ? 'truth (oracle)' : r.model;
    const cells = [name, cell('delayedAuc')];
    if (withDelta) {
      const d = r.deltaDelayedAuc;
      cells.push(r.model === 'cmdcm' ? '—' : d ? `${d.mean >= 0 ? '+' : ''}${d.mean.toFixed(4)} [${d.lo.toFixed(4)}, ${d.hi.toFixed(4)}]` : 'n/a');
    }
    cells.push(cell('delayedGauc'), cell('delayedLogloss'), cell('delayedPcoc', 3), task('atc', 'atcAuc'), task('direct', 'directAuc'), cell('transitionAuc'));
    if (withTruth) cells.push(r.model === 'oracle' ? '1' : cell('transitionPearson'));
    cells.push(r.model === 'oracle' ? '—' : String(Math.round(r.steps)), r.model === 'oracle' ? '—' : r.seconds.toFixed(1));
    lines.push(`| ${cells.join(' | ')} |`);
  }
  if (withDelta) lines.push('', 'Δ = cmdcm\'s delayed AUC minus the model\'s (positive: cmdcm ranks better), paired over seeds and over bootstrap draws of the test users.');
  const warn = rows.flatMap((r) => r.warnings.map((w) => `- ${r.model}: ${w}`));
  if (warn.length) lines.push('', '**Warnings**', '', ...warn);
  return lines.join('\n') + '\n';
}
