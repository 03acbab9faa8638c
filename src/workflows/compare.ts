import { mkdtempSync, rmSync } from 'node:fs';
import { didYouMean } from '../util/suggest.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDataset, type Dataset } from '../data/dataset.js';
import { MODEL_NAMES, type ModelName, type Predictions } from '../model/types.js';
import type { EngineName } from '../engine/index.js';
import { CmdcmError } from '../util/errors.js';
import { trainRun, type TrainRunOptions } from '../train/run.js';
import { Predictor } from '../train/predictor.js';
import { predictionRows, type PredictionRows } from '../train/predict-csv.js';
import type { TrainConfigInput } from '../train/config.js';
import type { ModelConfigInput } from '../model/config.js';
import { DEFAULT_TRAIN_CONFIG } from '../train/config.js';
import { evaluatePredictions } from '../eval/report.js';
import { readTruth, truthColumns, truthCorrelation } from '../eval/truth.js';
import { modeledTasks } from '../eval/modeled.js';
import { bootstrapIntervals, summarize, type CompareRow, type Scored } from '../eval/compare-table.js';

export { compareMarkdown, COMPARE_METRICS, type CompareRow, type CompareMetric, type Interval } from '../eval/compare-table.js';

/**
 * Train several models on one dataset with the same trainer settings, each with K seeds, evaluate
 * each on the test split (the target's clicks at or after asOf), and tabulate mean ± std per
 * metric, plus each model's paired difference to cmdcm in delayed AUC with a 95 % bootstrap
 * interval over users (bootstrap.ts).
 *
 * With a ground-truth file (`cmdcm generate --truth`): the Pearson correlation of each model's
 * transition predictions with the true P(delayed | click, do(atc)), and an `oracle` row scoring
 * the true probabilities themselves. No honest model ranks the test clicks' carts or direct buys
 * better than the probabilities they were drawn from: a model whose ATC or direct AUC beats the
 * oracle's with the paired interval above 0 is flagged as a probable leak.
 */
export interface CompareOptions {
  data: string | Dataset;
  models: ModelName[];
  /** ground-truth CSV from `cmdcm generate` */
  truth?: string;
  /** keep the runs in out/<model> (out/<model>/seed-<s> with several seeds); default: a temp directory removed afterwards */
  out?: string;
  train?: TrainConfigInput;
  /** train each model with this many seeds: train.seed, train.seed + 1, … (default 1) */
  seeds?: number;
  /** bootstrap replicates for the intervals (default 200) */
  bootstrap?: number;
  /** per-model partial model configs */
  modelConfigs?: Partial<Record<ModelName, ModelConfigInput>>;
  engine?: EngineName;
  workers?: number;
  transport?: TrainRunOptions['transport'];
  gpus?: string[];
  /** called before each training run (model k of n, seed j of the seeds) */
  onModelStart?: (model: ModelName, index: number, count: number, seed: number) => void;
  on?: TrainRunOptions['on'];
  signal?: AbortSignal;
}

export async function compareModels(opts: CompareOptions): Promise<CompareRow[]> {
  if (opts.models.length === 0) throw new CmdcmError('--models: give at least one model');
  for (const m of opts.models) if (!(MODEL_NAMES as readonly string[]).includes(m)) throw new CmdcmError(`--models: unknown model '${m}'${didYouMean(m, MODEL_NAMES)} (expected some of ${MODEL_NAMES.join(', ')})`);
  const K = opts.seeds ?? 1;
  if (!Number.isInteger(K) || K < 1 || K > 100) throw new CmdcmError(`--seeds: must be an integer in [1, 100], got ${K}`);
  const B = opts.bootstrap ?? 200;
  if (!Number.isInteger(B) || B < 0) throw new CmdcmError(`--bootstrap: must be an integer >= 0, got ${B}`);
  const ds = typeof opts.data === 'string' ? await openDataset(opts.data) : opts.data;
  const truth = opts.truth ? readTruth(opts.truth) : undefined;
  const root = opts.out ?? mkdtempSync(join(tmpdir(), 'cmdcm-compare-'));
  const test = await ds.load('test', { lazySequences: true });
  if (test.n === 0) throw new CmdcmError(`${ds.dir}: the test split (the target's clicks at or after ${ds.meta.asOfText}) is empty`);
  const seed0 = opts.train?.seed ?? DEFAULT_TRAIN_CONFIG.seed;
  const seeds = Array.from({ length: K }, (_, j) => seed0 + j);
  const scored: Scored[] = [];
  let ids: PredictionRows | undefined;
  try {
    outer: for (const [k, model] of opts.models.entries()) {
      const s: Scored = { model, seeds: [], preds: [], reports: [], pearson: [], steps: [], seconds: [], runDir: opts.out ? join(root, model) : undefined };
      scored.push(s);
      for (const seed of seeds) {
        opts.onModelStart?.(model, k, opts.models.length, seed);
        const runDir = K > 1 ? join(root, model, `seed-${seed}`) : join(root, model);
        const res = await trainRun({ data: ds, model, out: runDir, train: { ...opts.train, seed }, modelConfig: opts.modelConfigs?.[model], engine: opts.engine, workers: opts.workers, transport: opts.transport, gpus: opts.gpus, on: opts.on, signal: opts.signal });
        const predictor = await Predictor.load(runDir, { engine: opts.engine });
        const preds = await predictor.predictAsync(test, { signal: opts.signal });
        s.seeds.push(seed);
        s.preds.push(preds);
        s.reports.push(evaluatePredictions(test, preds, { modeled: modeledTasks(predictor.config.modelConfig) }));
        s.steps.push(res.summary.steps);
        s.seconds.push(res.summary.seconds);
        ids ??= await predictionRows(ds, test, preds);
        const tc = truth ? truthCorrelation(truth, 'p_transition', ids, preds.transition) : undefined;
        s.pearson.push(tc ? tc.r : null);
        s.truthMatched = tc?.matched;
        if (opts.signal?.aborted) break outer;
      }
    }
  } finally {
    if (!opts.out) rmSync(root, { recursive: true, force: true });
  }
  const warnings: string[] = [];
  if (truth && ids) {
    const t = truthColumns(truth, ids, ['p_direct', 'p_atc', 'p_transition', 'p_delayed']);
    if (t.matched === test.n) {
      const f32 = (a: Float64Array) => Float32Array.from(a);
      const preds: Predictions = { direct: f32(t.cols.p_direct), atc: f32(t.cols.p_atc), transition: f32(t.cols.p_transition), delayed: f32(t.cols.p_delayed) };
      scored.push({ model: 'oracle', seeds: [], preds: [preds], reports: [evaluatePredictions(test, preds)], pearson: [1], steps: [0], seconds: [0] });
    } else {
      warnings.push(`${truth.path} covers ${t.matched} of the ${test.n} test clicks: no oracle row`);
    }
  }
  const rows = scored.filter((s) => s.preds.length > 0).map((s) => summarize(s, truth !== undefined));
  bootstrapIntervals(test, scored.filter((s) => s.preds.length > 0), rows, B, seed0);
  if (warnings.length) rows[0].warnings.push(...warnings);
  return rows;
}

