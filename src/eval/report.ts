import type { SampleColumns } from '../data/batch.js';
import type { Predictions } from '../model/types.js';
import { T_ATC, T_DELAYED, T_DIRECT } from '../data/types.js';
import { auc, gauc, logloss, pcoc } from './metrics.js';

/**
 * Per-task evaluation of predictions against a split's labels (DESIGN.md "Metrics"):
 *  - direct:     p_direct vs the direct label, on clicks whose direct label is available;
 *  - atc:        p_atc vs atc, on clicks whose atc label is available;
 *  - transition: p_transition vs delayed, on carted clicks (atc = 1) with both labels available;
 *  - delayed:    p_delayed vs delayed, on all clicks whose delayed label is available.
 * Overall and broken down by days-to-promotion. Guards: an AUC ≥ 0.999 is flagged as a likely label
 * leak, and constant predictions (a collapsed model, AUC exactly 0.5) are flagged too.
 */
/** The tasks a report scores: every prediction a model makes (model/types.ts). */
export { PREDICTED_TASKS as EVAL_TASKS, type PredictedTask as EvalTask } from '../model/types.js';
import { PREDICTED_TASKS as EVAL_TASKS, type PredictedTask as EvalTask } from '../model/types.js';

/** At or above this AUC a report warns of a label leak: real conversion data is never that separable. */
export const SUSPICIOUS_AUC = 0.999;
/** Predictions spanning less than this are treated as constant (collapsed). */
export const COLLAPSE_RANGE = 1e-6;

export interface TaskMetrics {
  n: number;
  positives: number;
  auc: number | null;
  gauc: number | null;
  /** users with both classes that GAUC averaged over */
  gaucUsers: number;
  logloss: number | null;
  pcoc: number | null;
  meanPred: number | null;
  meanLabel: number | null;
  /** false: the model has no head for this task (an intercept-only prior); its metrics mean nothing */
  modeled: boolean;
}

export interface EvalReport {
  n: number;
  tasks: Record<EvalTask, TaskMetrics>;
  /** key: days to promotion */
  byDaysToPromo: Record<string, Record<EvalTask, TaskMetrics>>;
  /** delayed: deciles of the prediction (equal counts), mean prediction vs observed rate */
  reliability: ReliabilityBin[];
  warnings: string[];
}

export interface ReliabilityBin {
  /** prediction range of the bin */
  lo: number;
  hi: number;
  n: number;
  meanPred: number;
  meanLabel: number;
}

/**
 * A reliability table of `bins` equal-count bins of the prediction (delayed rates are small, so
 * equal-width bins would put nearly every click in the first): a calibrated model has
 * meanPred ≈ meanLabel in every bin.
 */
export function reliabilityTable(pred: ArrayLike<number>, label: ArrayLike<number>, idx: ArrayLike<number>, bins = 10): ReliabilityBin[] {
  const order = Array.from(idx).sort((a, b) => pred[a] - pred[b]);
  const out: ReliabilityBin[] = [];
  for (let b = 0; b < bins; b++) {
    const from = Math.floor((b * order.length) / bins), to = Math.floor(((b + 1) * order.length) / bins);
    if (to <= from) continue;
    let sp = 0, sl = 0;
    for (let k = from; k < to; k++) { sp += pred[order[k]]; sl += label[order[k]] > 0.5 ? 1 : 0; }
    out.push({ lo: pred[order[from]], hi: pred[order[to - 1]], n: to - from, meanPred: sp / (to - from), meanLabel: sl / (to - from) });
  }
  return out;
}

function selectTask(task: EvalTask, cols: SampleColumns, rows?: ArrayLike<number>): { idx: Int32Array; label: Float32Array } {
  const n = rows ? rows.length : cols.n;
  const out: number[] = [];
  const label = new Float32Array(cols.n);
  const L = cols.labels, M = cols.mask;
  for (let r = 0; r < n; r++) {
    const i = rows ? rows[r] : r;
    const b = i * 3;
    switch (task) {
      case 'direct':
        if (M[b + T_DIRECT] > 0) {
          out.push(i);
          label[i] = L[b + T_DIRECT];
        }
        break;
      case 'atc':
        if (M[b + T_ATC] > 0) {
          out.push(i);
          label[i] = L[b + T_ATC];
        }
        break;
      case 'transition':
        if (M[b + T_ATC] > 0 && M[b + T_DELAYED] > 0 && L[b + T_ATC] > 0.5) {
          out.push(i);
          label[i] = L[b + T_DELAYED];
        }
        break;
      case 'delayed':
        if (M[b + T_DELAYED] > 0) {
          out.push(i);
          label[i] = L[b + T_DELAYED];
        }
        break;
    }
  }
  return { idx: Int32Array.from(out), label };
}

function taskMetrics(pred: Float32Array, label: Float32Array, user: Int32Array, idx: Int32Array): TaskMetrics {
  let pos = 0, sp = 0;
  for (let k = 0; k < idx.length; k++) {
    pos += label[idx[k]] > 0.5 ? 1 : 0;
    sp += pred[idx[k]];
  }
  const g = gauc(pred, label, user, idx);
  const n = idx.length;
  return {
    n,
    positives: pos,
    auc: auc(pred, label, idx),
    gauc: g.gauc,
    gaucUsers: g.groupsUsed,
    logloss: logloss(pred, label, idx),
    pcoc: pcoc(pred, label, idx),
    meanPred: n ? sp / n : null,
    meanLabel: n ? pos / n : null,
    modeled: true,
  };
}

function predFor(task: EvalTask, p: Predictions): Float32Array {
  return p[task];
}

function allTasks(cols: SampleColumns, p: Predictions, rows: ArrayLike<number> | undefined, modeled: readonly EvalTask[]): { metrics: Record<EvalTask, TaskMetrics>; idx: Record<EvalTask, Int32Array> } {
  const metrics = {} as Record<EvalTask, TaskMetrics>;
  const idxs = {} as Record<EvalTask, Int32Array>;
  for (const t of EVAL_TASKS) {
    const { idx, label } = selectTask(t, cols, rows);
    metrics[t] = { ...taskMetrics(predFor(t, p), label, cols.user, idx), modeled: modeled.includes(t) };
    idxs[t] = idx;
  }
  return { metrics, idx: idxs };
}

/** Warnings for one task: label leak, collapse. */
export function guardWarnings(task: string, m: TaskMetrics, pred: ArrayLike<number>, idx: ArrayLike<number>): string[] {
  const w: string[] = [];
  if (m.n === 0) return w;
  let lo = Infinity, hi = -Infinity;
  for (let k = 0; k < idx.length; k++) {
    const v = pred[idx[k]];
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  if (m.auc !== null && m.auc >= SUSPICIOUS_AUC) {
    w.push(`${task}: AUC ${m.auc.toFixed(4)} is suspiciously perfect — a label (or a post-click event) is probably leaking into the features`);
  }
  if (hi - lo < COLLAPSE_RANGE) {
    w.push(`${task}: predictions are constant (${lo.toPrecision(4)}) — the model collapsed; AUC ${m.auc === null ? 'n/a' : m.auc.toFixed(3)} means nothing`);
  }
  return w;
}

export interface EvalOptions {
  /** tasks the model predicts (see modeled.ts); the rest are priors: marked, and not guarded. Default: all */
  modeled?: readonly EvalTask[];
}

export function evaluatePredictions(cols: SampleColumns, p: Predictions, opts: EvalOptions = {}): EvalReport {
  const modeled = opts.modeled ?? EVAL_TASKS;
  for (const t of EVAL_TASKS) {
    if (p[t].length !== cols.n) throw new Error(`predictions.${t} has ${p[t].length} values for ${cols.n} samples`);
  }
  const overall = allTasks(cols, p, undefined, modeled);
  const warnings: string[] = [];
  for (const t of EVAL_TASKS) {
    if (!modeled.includes(t)) continue;
    warnings.push(...guardWarnings(t, overall.metrics[t], predFor(t, p), overall.idx[t]));
    if (overall.metrics[t].n > 0 && overall.metrics[t].auc === null) warnings.push(`${t}: only one class among ${overall.metrics[t].n} samples, AUC undefined`);
  }
  const byDay = new Map<number, number[]>();
  for (let i = 0; i < cols.n; i++) {
    const d = cols.daysToPromo[i];
    let a = byDay.get(d);
    if (!a) byDay.set(d, (a = []));
    a.push(i);
  }
  const byDaysToPromo: EvalReport['byDaysToPromo'] = {};
  for (const d of [...byDay.keys()].sort((a, b) => a - b)) byDaysToPromo[String(d)] = allTasks(cols, p, byDay.get(d)!, modeled).metrics;
  const dl = selectTask('delayed', cols);
  const reliability = reliabilityTable(p.delayed, dl.label, dl.idx);
  return { n: cols.n, tasks: overall.metrics, byDaysToPromo, reliability, warnings };
}

const f = (v: number | null, digits = 4) => (v === null ? 'n/a' : v.toFixed(digits));

export function reportMarkdown(r: EvalReport, title = 'Evaluation'): string {
  const lines = [`### ${title}`, '', `${r.n} samples.`, '', '| task | n | positives | AUC | GAUC | logloss | PCOC |', '|---|---:|---:|---:|---:|---:|---:|'];
  for (const t of EVAL_TASKS) {
    const m = r.tasks[t];
    lines.push(`| ${t}${m.modeled ? '' : ' (prior only)'} | ${m.n} | ${m.positives} | ${f(m.auc)} | ${f(m.gauc)} | ${f(m.logloss)} | ${f(m.pcoc, 3)} |`);
  }
  lines.push('', '#### By days to promotion', '', '| days | n | direct AUC | atc AUC | transition AUC | delayed AUC | delayed GAUC | delayed logloss | delayed PCOC |', '|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const [d, ms] of Object.entries(r.byDaysToPromo)) {
    lines.push(`| ${d} | ${ms.direct.n} | ${f(ms.direct.auc)} | ${f(ms.atc.auc)} | ${f(ms.transition.auc)} | ${f(ms.delayed.auc)} | ${f(ms.delayed.gauc)} | ${f(ms.delayed.logloss)} | ${f(ms.delayed.pcoc, 3)} |`);
  }
  if (r.reliability?.length) {
    lines.push('', '#### Delayed reliability (deciles of the prediction)', '', '| bin | predictions | n | mean predicted | observed rate | ratio |', '|---:|---|---:|---:|---:|---:|');
    r.reliability.forEach((b, i) => lines.push(`| ${i + 1} | ${b.lo.toPrecision(3)} – ${b.hi.toPrecision(3)} | ${b.n} | ${b.meanPred.toFixed(5)} | ${b.meanLabel.toFixed(5)} | ${b.meanLabel > 0 ? (b.meanPred / b.meanLabel).toFixed(3) : 'n/a'} |`));
  }
  if (r.warnings.length) lines.push('', '**Warnings**', '', ...r.warnings.map((w) => `- ${w}`));
  return lines.join('\n') + '\n';
}

export { validationLoglosses } from '../train/validation.js';
