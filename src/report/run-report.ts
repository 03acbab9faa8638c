/**
 * `cmdcm report RUN...`: one self-contained HTML page (inline SVG, no script, no network) per call:
 * the training loss and each loss term over steps, the validation loglosses, a reliability diagram
 * per task on the test split, and the eval metrics (overall and by days to promotion) when the run
 * has eval.json. Several runs (e.g. a `compare`) are drawn side by side, one color per run.
 */
import { existsSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { openDataset } from '../data/dataset.js';
import { Predictor } from '../train/predictor.js';
import { writeFileAtomic } from '../util/atomic.js';
import { CmdcmError } from '../util/errors.js';
import { esc, lineChart, reliabilityBins, reliabilityChart, type ReliabilityBin, type Series } from './svg.js';

export interface ReportOptions {
  runs: string[];
  /** output file; default <run>/report.html for one run, else required */
  out?: string;
  /** draw reliability diagrams (loads each run and scores its test split); default true */
  reliability?: boolean;
  signal?: AbortSignal;
  onProgress?: (message: string) => void;
}

interface RunData {
  dir: string;
  name: string;
  steps: Array<{ step: number; loss: number; terms: Record<string, number> }>;
  valids: Array<{ step: number; metric: number; logloss: Record<string, number | null> }>;
  evalJson?: { tasks?: Record<string, Record<string, number | null | boolean>>; byDaysToPromo?: Record<string, Record<string, Record<string, number | null>>> };
  reliability?: Record<string, ReliabilityBin[]>;
  note?: string;
}

const LABEL_TASKS = ['direct', 'atc', 'delayed'] as const; // column order of SampleColumns.labels

function readMetrics(dir: string): Pick<RunData, 'steps' | 'valids'> {
  const p = join(dir, 'metrics.jsonl');
  if (!existsSync(p)) throw new CmdcmError(`${dir}: no metrics.jsonl (not a cmdcm run directory?)`);
  const steps: RunData['steps'] = [], valids: RunData['valids'] = [];
  readFileSync(p, 'utf8').split('\n').forEach((line, i) => {
    if (!line.trim()) return;
    let o: Record<string, unknown>;
    try { o = JSON.parse(line); } catch { throw new CmdcmError(`${p}:${i + 1}: not a JSON line`); }
    if (o.type === 'step') steps.push({ step: o.step as number, loss: o.loss as number, terms: (o.terms ?? {}) as Record<string, number> });
    else if (o.type === 'valid') valids.push({ step: o.step as number, metric: o.metric as number, logloss: (o.logloss ?? {}) as Record<string, number | null> });
  });
  return { steps, valids };
}

function ema(points: Array<[number, number]>, alpha = 0.1): Array<[number, number]> {
  let m = NaN;
  return points.map(([x, y]) => [x, (m = Number.isNaN(m) ? y : m + alpha * (y - m))]);
}

/** At most ~400 points a series: a long run's per-step loss is averaged over windows. */
function thin(points: Array<[number, number]>, max = 400): Array<[number, number]> {
  if (points.length <= max) return points;
  const k = Math.ceil(points.length / max), out: Array<[number, number]> = [];
  for (let i = 0; i < points.length; i += k) {
    const w = points.slice(i, i + k);
    out.push([w[w.length - 1][0], w.reduce((s, p) => s + p[1], 0) / w.length]);
  }
  return out;
}

async function reliabilityOf(dir: string, signal?: AbortSignal): Promise<Record<string, ReliabilityBin[]>> {
  const predictor = await Predictor.load(dir);
  const ds = await openDataset(predictor.config.data);
  const cols = await ds.load('test', { lazySequences: true });
  const p = await predictor.predictAsync(cols, { signal });
  const out: Record<string, ReliabilityBin[]> = {};
  LABEL_TASKS.forEach((task, t) => {
    const label = new Float32Array(cols.n);
    for (let i = 0; i < cols.n; i++) label[i] = cols.labels[i * 3 + t];
    out[task] = reliabilityBins(p[task], label, (i) => cols.mask[i * 3 + t] > 0);
  });
  return out;
}

function metricsTable(runs: RunData[]): string {
  const withEval = runs.filter((r) => r.evalJson?.tasks);
  if (!withEval.length) return '<p>No eval.json yet: run <code>cmdcm eval --run DIR</code> for the test-split metrics.</p>';
  const tasks = Object.keys(withEval[0].evalJson!.tasks!);
  const cell = (v: unknown) => (typeof v === 'number' ? v.toFixed(4) : '—');
  const rows = withEval.flatMap((r) => tasks.map((t) => {
    const m = r.evalJson!.tasks![t] ?? {};
    return `<tr><td>${esc(r.name)}</td><td>${esc(t)}</td><td>${m.n ?? ''}</td><td>${m.positives ?? ''}</td><td>${cell(m.auc)}</td><td>${cell(m.gauc)}</td><td>${cell(m.logloss)}</td><td>${cell(m.pcoc)}</td></tr>`;
  }));
  let html = `<table class="metrics"><tr><th>run</th><th>task</th><th>n</th><th>positives</th><th>AUC</th><th>GAUC</th><th>logloss</th><th>PCOC</th></tr>${rows.join('')}</table>`;
  // AUC and PCOC by days to promotion, one line per run
  for (const metric of ['auc', 'pcoc'] as const) {
    for (const task of ['delayed', 'atc']) {
      const series: Series[] = withEval.map((r) => ({
        name: r.name,
        points: Object.entries(r.evalJson!.byDaysToPromo ?? {}).map(([d, m]) => [Number(d), (m[task]?.[metric] ?? NaN) as number] as [number, number])
          .filter(([d]) => Number.isFinite(d)).sort((a, b) => a[0] - b[0]),
      })).filter((s) => s.points.some(([, y]) => Number.isFinite(y)));
      if (series.length) html += lineChart(`${task} ${metric.toUpperCase()} by days to promotion`, 'days to promotion', metric.toUpperCase(), series);
    }
  }
  return html;
}

export function renderReport(runs: RunData[]): string {
  const sections: string[] = [];
  // per-step losses are noisy (one batch each): each run also gets an exponential moving average
  const total: Series[] = runs.flatMap((r) => [
    { name: r.name, points: thin(r.steps.map((s) => [s.step, s.loss])) },
    { name: `${r.name} (EMA)`, points: thin(ema(r.steps.map((s) => [s.step, s.loss]))) },
  ]);
  sections.push('<h2>Training loss</h2>', lineChart('total training loss', 'step', 'loss', total, { log: true }));
  for (const r of runs) {
    const terms = [...new Set(r.steps.flatMap((s) => Object.keys(s.terms)))];
    if (terms.length) sections.push(lineChart(`${r.name}: loss terms`, 'step', 'loss', terms.map((t) => ({ name: t, points: thin(r.steps.map((s) => [s.step, s.terms[t]])) })), { log: true }));
  }
  sections.push('<h2>Validation</h2>');
  const vnames = [...new Set(runs.flatMap((r) => r.valids.flatMap((v) => Object.keys(v.logloss))))];
  if (runs.some((r) => r.valids.length)) {
    sections.push(lineChart('validation metric (early-stopping logloss)', 'step', 'logloss', runs.map((r) => ({ name: r.name, points: r.valids.map((v) => [v.step, v.metric]) }))));
    for (const t of vnames) {
      const s = runs.map((r) => ({ name: r.name, points: r.valids.map((v) => [v.step, v.logloss[t] ?? NaN] as [number, number]) })).filter((x) => x.points.some(([, y]) => Number.isFinite(y)));
      if (s.length) sections.push(lineChart(`validation logloss: ${t}`, 'step', 'logloss', s));
    }
  } else sections.push('<p>No validation yet.</p>');
  sections.push('<h2>Test split</h2>', metricsTable(runs));
  const rel = runs.filter((r) => r.reliability);
  if (rel.length) {
    sections.push('<h2>Reliability (calibration) on the test split</h2><p>Equal-count bins of the predictions; the dashed diagonal is perfect calibration; a point\'s area is its sample count.</p>');
    for (const r of rel) for (const [task, bins] of Object.entries(r.reliability!)) sections.push(reliabilityChart(`${r.name}: ${task}`, bins));
  }
  for (const r of runs) if (r.note) sections.push(`<p class="note">${esc(r.name)}: ${esc(r.note)}</p>`);
  const title = `cmdcm report: ${runs.map((r) => r.name).join(', ')}`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${esc(title)}</title>
<style>body{font-family:system-ui,sans-serif;margin:24px;color:#222}svg.chart{margin:6px;border:1px solid #eee;background:#fff;vertical-align:top}
table.metrics{border-collapse:collapse;font-size:13px}table.metrics td,table.metrics th{border:1px solid #ddd;padding:3px 8px;text-align:right}
.note{color:#a00}</style></head>
<body><h1>${esc(title)}</h1><p>${runs.map((r) => `<code>${esc(r.dir)}</code>`).join(' · ')}</p>
${sections.join('\n')}
</body></html>
`;
}

/** Builds the report for `opts.runs` and writes it; returns the path and the HTML. */
export async function writeRunReport(opts: ReportOptions): Promise<{ path: string; html: string }> {
  if (!opts.runs.length) throw new CmdcmError('report: give at least one run directory');
  const out = opts.out ?? (opts.runs.length === 1 ? join(opts.runs[0], 'report.html') : undefined);
  if (!out) throw new CmdcmError('--out: required with several runs (the report of one run goes into its directory)');
  const runs: RunData[] = [];
  for (const dir of opts.runs) {
    if (opts.signal?.aborted) throw opts.signal.reason instanceof Error ? opts.signal.reason : new Error('aborted');
    const r: RunData = { dir, name: basename(dir), ...readMetrics(dir) };
    const ev = join(dir, 'eval.json');
    if (existsSync(ev)) r.evalJson = JSON.parse(readFileSync(ev, 'utf8'));
    if (opts.reliability ?? true) {
      opts.onProgress?.(`scoring ${dir} on its test split`);
      try {
        r.reliability = await reliabilityOf(dir, opts.signal);
      } catch (e) {
        if (opts.signal?.aborted) throw e;
        r.note = `no reliability diagram: ${(e as Error).message}`;
      }
    }
    runs.push(r);
  }
  const html = renderReport(runs);
  await writeFileAtomic(out, html);
  return { path: out, html };
}
