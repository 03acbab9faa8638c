import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDataset, type Dataset } from '../data/dataset.js';
import { MODEL_NAMES, type ModelName } from '../model/types.js';
import type { EngineName } from '../engine/index.js';
import { CmdcmError } from '../util/errors.js';
import { trainRun, type TrainRunOptions } from '../train/run.js';
import { Predictor } from '../train/predictor.js';
import { predictionRows } from '../train/predict-csv.js';
import type { TrainConfigInput } from '../train/config.js';
import { evaluatePredictions, type EvalReport } from './report.js';
import { readTruth, truthCorrelation } from './truth.js';
import { modeledTasks } from './modeled.js';

/**
 * Train several models on one dataset with the same trainer settings and seed, evaluate each on the
 * test split, and tabulate. With a ground-truth file, also the Pearson correlation of each model's
 * transition predictions with the true p_transition (the counterfactual tower's target).
 */
export interface CompareOptions {
  data: string | Dataset;
  models: ModelName[];
  /** ground-truth CSV from `cmdcm generate` */
  truth?: string;
  /** keep the runs in out/<model>; default: a temp directory removed afterwards */
  out?: string;
  train?: TrainConfigInput;
  /** per-model partial model configs */
  modelConfigs?: Partial<Record<ModelName, Record<string, unknown>>>;
  engine?: EngineName;
  workers?: number;
  transport?: TrainRunOptions['transport'];
  gpus?: string[];
  /** called before each model trains, and with each trainer's listeners */
  onModelStart?: (model: ModelName, index: number, count: number) => void;
  on?: TrainRunOptions['on'];
  signal?: AbortSignal;
}

export interface CompareRow {
  model: ModelName;
  delayedAuc: number | null;
  delayedGauc: number | null;
  delayedLogloss: number | null;
  delayedPcoc: number | null;
  atcAuc: number | null;
  directAuc: number | null;
  transitionAuc: number | null;
  /** Pearson(p_transition predicted, truth p_transition); only with a truth file */
  transitionPearson?: number | null;
  truthMatched?: number;
  steps: number;
  seconds: number;
  warnings: string[];
  report: EvalReport;
  runDir?: string;
}

export async function compareModels(opts: CompareOptions): Promise<CompareRow[]> {
  if (opts.models.length === 0) throw new CmdcmError('--models: give at least one model');
  for (const m of opts.models) if (!(MODEL_NAMES as readonly string[]).includes(m)) throw new CmdcmError(`--models: unknown model '${m}' (expected some of ${MODEL_NAMES.join(', ')})`);
  const ds = typeof opts.data === 'string' ? await openDataset(opts.data) : opts.data;
  const truth = opts.truth ? readTruth(opts.truth) : undefined;
  const root = opts.out ?? mkdtempSync(join(tmpdir(), 'cmdcm-compare-'));
  const test = await ds.load('test', { lazySequences: true });
  if (test.n === 0) throw new CmdcmError(`${ds.dir}: the test split (target pre-window clicks) is empty`);
  const rows: CompareRow[] = [];
  try {
    for (const [k, model] of opts.models.entries()) {
      opts.onModelStart?.(model, k, opts.models.length);
      const runDir = join(root, model);
      const res = await trainRun({ data: ds, model, out: runDir, train: opts.train, modelConfig: opts.modelConfigs?.[model], engine: opts.engine, workers: opts.workers, transport: opts.transport, gpus: opts.gpus, on: opts.on, signal: opts.signal });
      const predictor = await Predictor.load(runDir, { engine: opts.engine });
      const preds = predictor.predict(test);
      const report = evaluatePredictions(test, preds, { modeled: modeledTasks(predictor.config.modelConfig) });
      const t = report.tasks;
      const row: CompareRow = {
        model,
        delayedAuc: t.delayed.auc,
        delayedGauc: t.delayed.gauc,
        delayedLogloss: t.delayed.logloss,
        delayedPcoc: t.delayed.pcoc,
        atcAuc: t.atc.auc,
        directAuc: t.direct.auc,
        transitionAuc: t.transition.auc,
        steps: res.summary.steps,
        seconds: res.summary.seconds,
        warnings: report.warnings,
        report,
        runDir: opts.out ? runDir : undefined,
      };
      if (truth) {
        const ids = await predictionRows(ds, test, preds);
        const c = truthCorrelation(truth, 'p_transition', ids, preds.transition);
        row.transitionPearson = c.r;
        row.truthMatched = c.matched;
      }
      rows.push(row);
      if (opts.signal?.aborted) break;
    }
  } finally {
    if (!opts.out) rmSync(root, { recursive: true, force: true });
  }
  return rows;
}

const f = (v: number | null | undefined, d = 4) => (v === null || v === undefined ? 'n/a' : v.toFixed(d));

/** One Markdown table: a row per model. */
export function compareMarkdown(rows: CompareRow[]): string {
  const withTruth = rows.some((r) => r.transitionPearson !== undefined);
  const head = ['model', 'delayed AUC', 'delayed GAUC', 'delayed logloss', 'delayed PCOC', 'atc AUC', 'direct AUC', 'transition AUC'];
  if (withTruth) head.push('transition Pearson vs truth');
  head.push('steps', 'train s');
  const lines = [`| ${head.join(' | ')} |`, `|${head.map((_, i) => (i === 0 ? '---' : '---:')).join('|')}|`];
  for (const r of rows) {
    // a task the model has no head for shows as a prior, not as a meaningless 0.5
    const m = (t: 'atc' | 'direct', v: number | null) => (r.report.tasks[t].modeled ? f(v) : 'prior');
    const cells = [r.model, f(r.delayedAuc), f(r.delayedGauc), f(r.delayedLogloss), f(r.delayedPcoc, 3), m('atc', r.atcAuc), m('direct', r.directAuc), f(r.transitionAuc)];
    if (withTruth) cells.push(f(r.transitionPearson));
    cells.push(String(r.steps), r.seconds.toFixed(1));
    lines.push(`| ${cells.join(' | ')} |`);
  }
  const warn = rows.flatMap((r) => r.warnings.map((w) => `- ${r.model}: ${w}`));
  if (warn.length) lines.push('', '**Warnings**', '', ...warn);
  return lines.join('\n') + '\n';
}
