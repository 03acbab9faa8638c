/**
 * cmdcm as a library for Node pipelines.
 *
 *   import { prepare, train, evaluate, predict, Predictor } from 'cmdcm';
 *   await prepare({ logs: ['log.csv'], promos: ['2014-11-11:10', '2014-12-12:10'], out: 'ds/' });  // or events: asyncIterable
 *   const { runDir } = await train({ data: 'ds/', model: 'cmdcm', out: 'runs/a', on: { step: (e) => … } });
 *   const { report } = await evaluate({ run: runDir });
 *   const p = await Predictor.load(runDir);      // once, e.g. at server start
 *   const probs = p.predict(columns);             // per request batch (SampleColumns of the run's schema)
 *
 * Progress comes as events: `on: { step, valid, checkpoint, epoch, end }` listeners, or the async
 * iterator of `trainEvents()`.
 */
import { trainRun, type TrainRunOptions, type TrainRunResult } from './train/run.js';
import type { StepEvent, ValidEvent, TrainSummary } from './train/trainer.js';
import { evaluateRun } from './eval/evaluate.js';
import { predictRun } from './train/predict-csv.js';
import { isPlainData, runOffThread } from './workflows/off-thread.js';

export type { TrainRunOptions as TrainOptions, TrainRunResult as TrainResult, ParallelRunnerFactory, ParallelRunnerOptions } from './train/run.js';
export { Trainer, type TrainerOptions, type TrainerEvents, type StepEvent, type ValidEvent, type TrainSummary } from './train/trainer.js';
export { trainStep, applyGradients, localStepRunner, NonFiniteLossError, type StepRunner, type StepHyper, type StepResult } from './train/step.js';
export { initTrainState, type TrainState } from './train/state.js';
export { DEFAULT_TRAIN_CONFIG, mergeTrainConfig, type TrainConfig, type TrainConfigInput } from './train/config.js';
export { learningRate, type ScheduleConfig, type ScheduleKind } from './train/schedule.js';
export { readCheckpoint, saveCheckpoint, loadLastGoodCheckpoint, CKPT_VERSION, type Checkpoint } from './train/checkpoint.js';
export { Predictor, type PredictorOptions } from './train/predictor.js';
export { OnlineScorer, type LiveClick } from './train/online-scorer.js';
export { formatTime, rowsToCsv, PREDICTION_COLUMNS, type PredictionRows } from './train/predict-csv.js';
export { readRunConfig, type RunConfig } from './train/run-dir.js';
export { Rng } from './util/rng.js';
export { auc, gauc, logloss, pcoc, pearson } from './eval/metrics.js';
export { evaluatePredictions, reportMarkdown, EVAL_TASKS, SUSPICIOUS_AUC, type EvalReport, type TaskMetrics, type EvalTask } from './eval/report.js';
export { type RunEvaluation } from './eval/evaluate.js';
export { modeledTasks } from './eval/modeled.js';
export { compareModels, compareMarkdown, type CompareOptions, type CompareRow } from './workflows/compare.js';
export { readTruth, truthCorrelation } from './eval/truth.js';
export { prepare, type PrepareOptions, type PrepareResult } from './data/prepare.js';
export { generate, type GenerateOptions, type GenerateResult } from './data/generate.js';
export { loadEvents, ingestEvents } from './data/events.js';
export { readEvents, type ReadOptions, type ReadReport } from './data/readers/index.js';
export { openDataset, type Dataset, type DatasetMeta, type Split } from './data/dataset.js';
export { allocColumns, gatherColumns, type SampleColumns, type Schema, type Batch } from './data/batch.js';
export { createModel, defaultModelConfig, resolveModelConfig, MODEL_NAMES, type ModelName, type ModelConfig, type Model, type Predictions } from './model/index.js';
export type { ModelConfigInput } from './model/config.js';
export { useEngine, optimKernels, tsOptim, type EngineName, type OptimKernels } from './engine/index.js';
export { CmdcmError } from './util/errors.js';

/** Train a model on a prepared dataset into a run directory (config.json, checkpoints, metrics.jsonl). */
export function train(opts: TrainRunOptions): Promise<TrainRunResult> {
  // Off the caller's thread by default (src/train/off-thread.ts): the whole run in a worker thread,
  // events posted back, so an embedding service's event loop keeps turning. Options that cannot
  // cross threads (an opened Dataset, a runner, a logger) keep it here: then the steps still run in
  // a worker (offThread) and the trainer yields between them.
  const { on, signal, offThread, ...rest } = opts;
  if (offThread !== false && isPlainData(rest)) return runOffThread<TrainRunResult>('train', rest, (on ?? {}) as Record<string, (d: never) => void>, signal);
  return trainRun({ ...opts, offThread: offThread ?? true });
}

export type TrainEvent = { type: 'step'; data: StepEvent } | { type: 'valid'; data: ValidEvent } | { type: 'end'; data: Omit<TrainSummary, 'state'> };

/**
 * Train, yielding progress events as an async iterator; the iterator ends after the 'end' event and
 * throws what training threw.
 */
export async function* trainEvents(opts: Omit<TrainRunOptions, 'on'>): AsyncGenerator<TrainEvent, TrainRunResult> {
  const queue: TrainEvent[] = [];
  let wake: (() => void) | undefined;
  const push = (e: TrainEvent) => {
    queue.push(e);
    wake?.();
  };
  let result: TrainRunResult | undefined, error: unknown, done = false;
  const job = train({
    ...opts,
    on: {
      step: (e) => push({ type: 'step', data: e }),
      valid: (e) => push({ type: 'valid', data: e }),
      end: (e) => {
        const { state: _s, ...rest } = e as TrainSummary; // off-thread 'end' events come without the state
        push({ type: 'end', data: rest });
      },
    },
  }).then((r) => { result = r; }, (e) => { error = e; }).finally(() => {
    done = true;
    wake?.();
  });
  while (true) {
    if (queue.length) {
      yield queue.shift()!;
      continue;
    }
    if (done) break;
    await new Promise<void>((r) => (wake = r));
    wake = undefined;
  }
  await job;
  if (error !== undefined) throw error;
  return result!;
}

/** Test-split metrics of a run (AUC, GAUC, logloss, PCOC per task, by days to promotion); writes eval.json/eval.md. */
export function evaluate(opts: Parameters<typeof evaluateRun>[0]): ReturnType<typeof evaluateRun> {
  // in a worker thread when the options are plain data (a run directory, not a loaded Predictor)
  const { signal, onProgress, ...rest } = opts;
  if (isPlainData(rest)) return runOffThread('evaluate', rest, progressListener(onProgress), signal);
  return evaluateRun(opts);
}

function progressListener(onProgress?: (done: number, total: number) => void): Record<string, ((d: never) => void) | undefined> {
  return { progress: onProgress && ((d: [number, number]) => onProgress(d[0], d[1])) };
}

/** Predictions for the target pre-window clicks of a dataset, with raw ids and log-format times; CSV when `out` is given. */
export function predict(opts: Parameters<typeof predictRun>[0]): ReturnType<typeof predictRun> {
  const { signal, onProgress, ...rest } = opts;
  if (isPlainData(rest)) return runOffThread('predict', rest, progressListener(onProgress), signal);
  return predictRun(opts);
}
