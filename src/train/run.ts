import { existsSync, statSync, promises as fsp } from 'node:fs';
import { didYouMean } from '../util/suggest.js';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { openDataset, type Dataset } from '../data/dataset.js';
import { createModel, fitDenseStats, fullyLabelledRows } from '../model/index.js';
import { resolveModelConfig, type ModelConfig, type ModelConfigInput } from '../model/config.js';
import { MODEL_NAMES, type Model, type ModelName } from '../model/types.js';
import { optimKernels, useEngine, type EngineName } from '../engine/index.js';
import type { OptimKernels } from '../engine/optim.js';
import { writeFileAtomic } from '../util/atomic.js';
import { CmdcmError } from '../util/errors.js';
import { openLogger, warnOnce } from '../util/log.js';
import { DEFAULT_TRAIN_CONFIG, mergeTrainConfig, type TrainConfig, type TrainConfigInput } from './config.js';
import { Trainer, type TrainerEvents, type TrainSummary } from './trainer.js';
import type { ParallelRunnerFactory, StepRunner } from './step.js';
import type { ParallelExtras } from '../parallel/index.js';
import type { SampleColumns } from '../data/batch.js';
import type { DelayedCalibration } from '../model/calibration.js';
import { schemaFingerprint } from './fingerprint.js';
import { fitRunCalibration } from './calibrate.js';
import { absPath, readRunConfig, runConfigPath, RUN_FORMAT, type RunConfig } from './run-dir.js';
import { ensureDir } from '../util/fsx.js';
import { acquireLock } from '../util/lock.js';
import { checkRunOut, RUN_LOCK } from './owner.js';

/**
 * One training run end to end: open the dataset, build the model, set up (or reopen) the run
 * directory, train, leave config.json + checkpoints + metrics.jsonl + train.log behind. The CLI's
 * `cmdcm train` and the library's `train()` both call this.
 */
export interface TrainRunOptions {
  /** prepared dataset directory (or an opened Dataset) */
  data: string | Dataset;
  model: ModelName;
  /** run directory */
  out: string;
  /** partial model config (JSON), merged over defaultModelConfig(model) */
  /** a misspelt key does not compile; JSON from a file (unknown keys) is checked at run time (resolveModelConfig) */
  modelConfig?: ModelConfigInput;
  /** where modelConfig came from, for error messages */
  modelConfigSource?: string;
  train?: TrainConfigInput;
  trainConfigSource?: string;
  engine?: EngineName;
  /** continue the run in `out` from its last good checkpoint */
  resume?: boolean;
  /** > 1: data-parallel workers (src/parallel provides the runner) */
  workers?: number;
  /**
   * workers as threads (default; native/cpu) or processes (default for tensorflow; one per GPU);
   * 'mpi': this process is one rank of an MPI job (src/parallel/mpi), rank 0 writes the run
   */
  transport?: 'thread' | 'process' | 'mpi';
  /** with the process transport: GPU ids to spread workers over (default: detected) */
  gpus?: string[];
  /** supply a step runner directly (takes precedence over `workers`) */
  runner?: StepRunner;
  /**
   * Builds the runner for `workers > 1`. Default: `createParallelRunner` from src/parallel/index.js,
   * loaded on demand so single-process training never loads worker machinery.
   */
  parallel?: ParallelRunnerFactory;
  signal?: AbortSignal;
  /**
   * Compute the steps in a worker thread even with one worker, so the caller's event loop stays free
   * (a step on the caller's thread blocks it for its whole duration: ~0.2 s at batch 1024). The
   * library's `train()` turns it on; the CLI, which has nothing else to run, trains in its thread.
   */
  offThread?: boolean;
  /** listeners for the trainer's progress events */
  on?: { [K in keyof TrainerEvents]?: (...args: TrainerEvents[K]) => void };
  logger?: Logger;
}

export type { ParallelRunnerOptions, ParallelRunnerFactory } from './step.js';

export interface TrainRunResult {
  /** the MPI rank that returned this (0 without MPI): only rank 0 wrote the run directory */
  rank: number;
  runDir: string;
  config: RunConfig;
  summary: TrainSummary;
}

interface MpiModule {
  mpiRank(): { rank: number; size: number };
  createMpiRunner(o: { modelConfig: ModelConfig; schema: Dataset['schema']; config: TrainConfig; paramCount: number; dim: number; optim?: OptimKernels; threads?: number; engine?: EngineName }): StepRunner;
  /** the delayed calibration fit by the ranks together (rank 0 gets it), see src/parallel/mpi/calibrate.ts */
  calibrateMpiRun(runner: StepRunner, runDir: string, valid: SampleColumns, train: SampleColumns, evalBatchSize: number): Promise<DelayedCalibration | null>;
}

async function loadMpi(): Promise<MpiModule> {
  const spec = new URL('../parallel/mpi/index.js', import.meta.url).href;
  return (await import(spec)) as MpiModule;
}

async function loadParallelFactory(): Promise<ParallelRunnerFactory> {
  // a computed specifier: the parallel module may not exist in every build, and must not be loaded
  // for single-process runs
  const spec = new URL('../parallel/index.js', import.meta.url).href;
  let mod: { createParallelRunner?: ParallelRunnerFactory };
  try {
    mod = (await import(spec)) as typeof mod;
  } catch (e) {
    throw new CmdcmError(`--workers > 1 needs the parallel trainer (src/parallel), which could not be loaded: ${(e as Error).message}`);
  }
  if (typeof mod.createParallelRunner !== 'function') throw new CmdcmError('--workers > 1: src/parallel does not export createParallelRunner');
  return mod.createParallelRunner;
}

/** Below this many samples per worker and step, data-parallel workers are not faster (bench/scaling.ts). */
const MIN_SAMPLES_PER_WORKER = 512;

export async function trainRun(opts: TrainRunOptions): Promise<TrainRunResult> {
  if (!(MODEL_NAMES as readonly string[]).includes(opts.model)) throw new CmdcmError(`--model: unknown model '${opts.model}'${didYouMean(opts.model, MODEL_NAMES)} (expected one of ${MODEL_NAMES.join(', ')})`);
  // Under MPI every rank runs this function on the shared dataset and run directory; rank 0 (the
  // lead) alone writes the run directory, validates and logs to train.log.
  // --workers T with --transport mpi: each rank runs T worker threads (hybrid ranks × threads)
  const mpi = opts.transport === 'mpi' && !opts.runner ? await loadMpi() : undefined;
  const rank = mpi ? mpi.mpiRank().rank : 0;
  const lead = rank === 0;
  const ds = typeof opts.data === 'string' ? await openDataset(opts.data) : opts.data;
  const runDir = opts.out;
  const fingerprint = schemaFingerprint(ds.schema);
  // one writer per run directory (the lock is held until training ends), then the owner check
  // under it: checked before the lock, a run starting beside us would show half-written files
  // An MPI follower rank neither locks nor checks: rank 0 owns the directory for the whole job.
  if (!lead) return trainLocked(opts, ds, fingerprint, mpi, rank);
  const created = !existsSync(runDir);
  if (created && opts.resume) throw new CmdcmError(`--resume: ${runDir} holds no run to resume (the directory does not exist)`);
  if (!created && !statSync(runDir).isDirectory()) throw new CmdcmError(`--out: ${runDir} exists and is a file, not a run directory`, { exitCode: 2 });
  await ensureDir(runDir, 'run directory');
  const lock = await acquireLock(join(runDir, RUN_LOCK), `run directory ${runDir}`);
  try {
    return await trainLocked(opts, ds, fingerprint, mpi, rank);
  } catch (e) {
    // a run refused before it wrote anything leaves no empty directory behind
    if (created) await rmdirIfOnlyLock(runDir);
    throw e;
  } finally {
    await lock.release();
  }
}

async function rmdirIfOnlyLock(dir: string): Promise<void> {
  try {
    const left = (await fsp.readdir(dir)).filter((e) => e !== RUN_LOCK);
    if (left.length === 0) {
      await fsp.rm(join(dir, RUN_LOCK), { force: true });
      await fsp.rmdir(dir);
    }
  } catch { /* best effort */ }
}

async function trainLocked(opts: TrainRunOptions, ds: Dataset, fingerprint: string, mpi: MpiModule | undefined, rank: number): Promise<TrainRunResult> {
  const runDir = opts.out;
  const lead = rank === 0;
  // checked again under the lock: a run started beside us may have written config.json meanwhile;
  // a follower rank takes rank 0's word (it may already see the run directory rank 0 is creating)
  const hasRun = lead ? (await checkRunOut(runDir, Boolean(opts.resume))) === 'run' : Boolean(opts.resume);
  let trainCfg: TrainConfig;
  let modelCfg: ModelConfig;
  let prior: RunConfig | undefined;
  if (hasRun) {
    prior = readRunConfig(runDir);
    if (prior.model !== opts.model) throw new CmdcmError(`${runDir}: the run there is model '${prior.model}', not '${opts.model}' (resume with --model ${prior.model}, or use another --out)`);
    if (prior.schemaFingerprint !== fingerprint) {
      throw new CmdcmError(`${runDir}: the run there was trained on a dataset with another schema (${prior.data}, fingerprint ${prior.schemaFingerprint}; ${ds.dir} has ${fingerprint})`);
    }
    // the stored configs define the trajectory; explicit options may still extend/override them
    trainCfg = mergeTrainConfig(prior.train, opts.train, opts.trainConfigSource ?? 'train options');
    modelCfg = opts.modelConfig ? resolveModelConfig({ ...prior.modelConfig, ...opts.modelConfig }, opts.modelConfigSource ?? 'model config', opts.model) : prior.modelConfig;
  } else {
    trainCfg = mergeTrainConfig(DEFAULT_TRAIN_CONFIG, opts.train, opts.trainConfigSource ?? 'train options');
    modelCfg = resolveModelConfig(opts.modelConfig ?? {}, opts.modelConfigSource ?? 'model config', opts.model);
  }
  const engine = await useEngine(opts.engine ?? 'auto');
  // the splits keep compact histories; batch assembly and slicing pack the sequences they take
  const [train, valid] = await Promise.all([ds.load('train', { lazySequences: true }), ds.load('valid', { lazySequences: true })]);
  if (train.n === 0) throw new CmdcmError(`${ds.dir}: the train split is empty (check the promotions given to \`cmdcm prepare\`)`);
  // Fit once, on the train split, and store with the run: a resumed run keeps the stored statistics
  // (same trajectory), and eval/predict/Predictor read them from the run's config.
  if (modelCfg.standardizeDense && !modelCfg.denseStats) {
    const S = ds.schema.dense.length;
    const labelled = fitDenseStats(train.dense, S, modelCfg.denseTransform, fullyLabelledRows(train));
    modelCfg = modelCfg.perTaskDense
      ? { ...modelCfg, denseStats: fitDenseStats(train.dense, S, modelCfg.denseTransform, null), delayedDenseMask: labelled.std.map((s) => (s > 0 ? 1 : 0)) }
      : { ...modelCfg, denseStats: labelled };
  }
  const model = createModel(modelCfg, ds.schema);
  const runCfg: RunConfig = {
    cmdcmRun: RUN_FORMAT,
    model: opts.model,
    modelConfig: modelCfg,
    train: trainCfg,
    data: absPath(ds.dir),
    schema: ds.schema,
    schemaFingerprint: fingerprint,
    engine,
    createdAt: prior?.createdAt ?? new Date().toISOString(),
  };
  // written once training will really run (resuming a finished run leaves config.json as it was),
  // by rank 0 alone under MPI
  const writeConfig = () => writeFileAtomic(runConfigPath(runDir), JSON.stringify(runCfg, null, 2) + '\n');
  if (lead && !hasRun) await writeConfig();
  // a logger we open we also close, so a long-lived process training many runs keeps no descriptors;
  // an MPI follower rank logs warnings and errors to stderr (the launcher prefixes them per rank)
  const own = opts.logger ? undefined : lead ? openLogger({ file: join(runDir, 'train.log') }) : openLogger({ level: process.env.CMDCM_LOG_LEVEL ?? 'warn' });
  const logger = opts.logger ?? own!.logger;
  try {
    logger.info({ model: opts.model, data: runCfg.data, engine, train: trainCfg, resume: Boolean(opts.resume) }, 'train start');
    let runner = opts.runner;
    const workers = opts.workers ?? 1;
    if (mpi) {
      if (engine === 'tensorflow' && workers > 1) throw new CmdcmError('--workers with --transport mpi and --engine tensorflow: tfjs-node cannot run in several threads of one process (tensorflow/tfjs#8388); start one rank per GPU instead', { exitCode: 2 });
      runner = mpi.createMpiRunner({ modelConfig: modelCfg, schema: ds.schema, config: trainCfg, paramCount: model.layout.total, dim: model.dim, optim: optimKernels(engine), threads: workers, engine });
    } else if (!runner && (workers > 1 || opts.transport === 'process' || (opts.offThread && engine !== 'tensorflow'))) {
      // Each worker's step has a fixed cost (README "Engines and workers"): with small micro-batches
      // the workers only add overhead. Said once, not enforced: the trajectory is right either way.
      const perWorker = Math.floor(trainCfg.batchSize / workers);
      if (workers > 1 && engine !== 'tensorflow' && perWorker < MIN_SAMPLES_PER_WORKER) {
        warnOnce('small-micro-batch', `--workers ${workers} with --batch-size ${trainCfg.batchSize} gives each worker ${perWorker} samples a step; ` +
          `workers pay off from about ${MIN_SAMPLES_PER_WORKER} each (e.g. --batch-size ${MIN_SAMPLES_PER_WORKER * workers})`);
      }
      const factory = opts.parallel ?? (await loadParallelFactory());
      runner = await factory({ workers, model, modelConfig: modelCfg, schema: ds.schema, engine, config: trainCfg, transport: opts.transport as 'thread' | 'process' | undefined, gpus: opts.gpus });
    }
    // MPI: the ranks fit the calibration together before the runner closes (none holds the whole table)
    let mpiCalibration: DelayedCalibration | null = null;
    const afterTraining = mpi && modelCfg.calibrateDelayed
      ? async (interrupted: boolean) => { if (!interrupted) mpiCalibration = await mpi.calibrateMpiRun(runner!, runDir, valid, train, trainCfg.evalBatchSize); }
      : undefined;
    const trainer = new Trainer({ model, modelConfig: modelCfg, schema: ds.schema, train, valid, config: trainCfg, runDir, resume: opts.resume, optim: optimKernels(engine), runner, signal: opts.signal, logger,
      beforeTraining: lead && hasRun ? writeConfig : undefined, afterTraining });
    // progress events come from the lead only
    if (lead) for (const [ev, fn] of Object.entries(opts.on ?? {})) if (fn) trainer.on(ev as keyof TrainerEvents, fn as never);
    const summary = await trainer.run();
    // the lead alone (it wrote the checkpoints this reads; an MPI follower only trained); a resumed
    // run that had already finished was left unchanged, config.json included
    if (lead && modelCfg.calibrateDelayed && !opts.signal?.aborted && !summary.unchanged) {
      const cal = mpi ? mpiCalibration : await fitRunCalibration(runDir, modelCfg, ds.schema, valid, train, trainCfg.evalBatchSize);
      if (cal) {
        runCfg.modelConfig = { ...modelCfg, delayedCalibration: cal };
        await writeFileAtomic(runConfigPath(runDir), JSON.stringify(runCfg, null, 2) + '\n');
        logger.info({ calibration: cal }, 'delayed calibration fit');
      }
    }
    return { rank, runDir, config: runCfg, summary };
  } finally {
    await own?.close();
  }
}

/**
 * A training run on W workers: the same options, events, run directory and result as `trainRun`,
 * with the parallel runner for any worker count (including 1, which `trainRun` trains in-process:
 * the same trajectory) and the parallel trainer's extras (transport, GPUs, model module, faults).
 */
export async function trainParallel(opts: TrainRunOptions & ParallelExtras & { workers: number }): Promise<TrainRunResult> {
  const { createParallelRunner } = await import('../parallel/index.js');
  const { transport, gpus, modelModule, fault } = opts;
  return trainRun({ ...opts, parallel: (o) => createParallelRunner({ ...o, transport, gpus, modelModule, fault }) });
}
