import { EventEmitter } from 'node:events';
import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { Model } from '../model/types.js';
import { baseRates } from '../model/priors.js';
import { allocColumns, type SampleColumns, type Schema } from '../data/batch.js';
import { gatherBatch } from '../features/gather.js';
import { log, warnOnce } from '../util/log.js';
import { ensureDirSync } from '../util/fsx.js';
import { withFsErrorsSync } from '../util/fs-errors.js';
import { checkCheckpointFor } from './validate.js';
import { trimMetricsAfter } from './metrics-file.js';
import type { OptimKernels } from '../engine/optim.js';
import { validationLoglosses } from './validation.js';
import type { TrainConfig } from './config.js';
import { learningRate } from './schedule.js';
import { initTrainState, initTableRows, epochPermutation, type TrainState } from './state.js';
import { localStepRunner, stepHyper, type StepRunner } from './step.js';
import { isCollective, type CollectiveRunner } from './collective.js';
import { predictColumnsAsync } from './columns.js';
import { yieldToEventLoop } from './yield.js';
import { schemaFingerprint } from './fingerprint.js';
import { loadLastGoodCheckpoint, saveBest, saveCheckpoint, type Checkpoint, type CheckpointMeta } from './checkpoint.js';

/**
 * The training loop: epochs of seeded shuffled batches, the LR schedule, validation on the 'valid'
 * split (every `validEvery` steps or at each epoch's end), early stopping on validation logloss,
 * checkpoints, metrics.jsonl. Progress goes out as events (see TrainerEvents). The step itself runs
 * through a StepRunner (in-thread by default; src/parallel supplies a multi-worker one).
 *
 * Reproducibility: the state (RNG, data cursor, moments, counters) fully determines what follows,
 * so a run resumed from any checkpoint ends with the same parameters as an uninterrupted one.
 */
export interface TrainerOptions {
  model: Model;
  /** stored in checkpoints and checked on resume */
  modelConfig?: unknown;
  schema: Schema;
  train: SampleColumns;
  valid?: SampleColumns;
  config: TrainConfig;
  /** where checkpoints, best.cmck and metrics.jsonl go; without it nothing is written */
  runDir?: string;
  /** continue from the run directory's last good checkpoint (if it has one) */
  resume?: boolean;
  /** start from this state instead (library use); wins over resume */
  initialState?: TrainState;
  /**
   * The optimizer kernels of the engine in use (`optimKernels(engine)`, src/engine/optim.ts) for
   * the in-thread step; default the TypeScript reference (same bits, slower). Unused with `runner`.
   */
  optim?: OptimKernels;
  runner?: StepRunner;
  /** called once the start state is known and training will run (not when a resumed run had already finished): the run's config.json is written here */
  beforeTraining?: () => Promise<void>;
  /**
   * Called on every process after the final checkpoint, before the runner closes (a collective
   * runner's processes can still work together here: the MPI run's calibration).
   */
  afterTraining?: (interrupted: boolean) => Promise<void>;
  /** stop after the current step, writing a final checkpoint */
  signal?: AbortSignal;
  logger?: Logger;
}

export interface StepEvent {
  step: number;
  epoch: number;
  loss: number;
  terms: Record<string, number>;
  lr: number;
  /** samples trained per second since the first step (worker start-up excluded; validation and checkpoints included) */
  samplesPerSec: number;
  /** steps of the whole run per the config (epochs × batches per epoch) */
  totalSteps: number;
}
export interface ValidEvent {
  step: number;
  epoch: number;
  logloss: { direct: number | null; atc: number | null; delayed: number | null; sum: number };
  metric: number;
  best: number;
  improved: boolean;
  badValidations: number;
}
export interface TrainSummary {
  steps: number;
  epochs: number;
  finished: TrainState['finished'] | 'interrupted';
  best: TrainState['best'];
  lastLoss: number | null;
  /** wall seconds of the whole run, worker start-up included */
  seconds: number;
  /** as StepEvent.samplesPerSec, over the whole run */
  samplesPerSec: number;
  /**
   * the final state (parameters after the last step); under MPI the dense part only, the table
   * arrays empty (the table stays sharded: read the checkpoint)
   */
  state: TrainState;
  resumedFrom?: number;
  /** set when --resume found the run already finished and wrote nothing */
  unchanged?: true;
}

export interface TrainerEvents {
  step: [StepEvent];
  valid: [ValidEvent];
  checkpoint: [{ step: number; path: string }];
  epoch: [{ epoch: number; step: number }];
  end: [TrainSummary];
}

export class Trainer extends EventEmitter<TrainerEvents> {
  readonly stepsPerEpoch: number;
  readonly totalSteps: number;
  private readonly fingerprint: string;
  private readonly logger: Logger;
  /** set when the runner is collective (MPI ranks): each process holds part of the state */
  private coll?: CollectiveRunner;

  constructor(private readonly opts: TrainerOptions) {
    super();
    const n = opts.train.n;
    if (n === 0) throw new Error('the train split has no samples');
    this.stepsPerEpoch = Math.ceil(n / opts.config.batchSize);
    this.totalSteps = this.stepsPerEpoch * opts.config.epochs;
    this.fingerprint = schemaFingerprint(opts.schema);
    this.logger = opts.logger ?? log();
  }

  private meta(): CheckpointMeta {
    const o = this.opts;
    return {
      kind: 'train',
      model: o.model.name,
      modelConfig: o.modelConfig ?? null,
      trainConfig: o.config,
      schemaFingerprint: this.fingerprint,
      dim: o.model.dim,
      tableRows: o.schema.tableRows,
      createdAt: new Date().toISOString(),
    };
  }

  private async startState(): Promise<{ state: TrainState; resumedFrom?: number }> {
    const o = this.opts;
    const check = (ck: Checkpoint, path: string) => checkCheckpointFor(ck, path, {
      model: o.model.name, schemaFingerprint: this.fingerprint, params: o.model.layout.total, dim: o.model.dim, tableRows: o.schema.tableRows,
      train: { tableOptimizer: o.config.tableOptimizer, stepsPerEpoch: this.stepsPerEpoch },
    });
    const resumed = (s: TrainState, path: string) => {
      // a step budget reached is extended by a larger (or no) --max-steps; anything else that ended stays ended
      if (s.finished === 'max-steps' && !(o.config.maxSteps > 0 && s.step >= o.config.maxSteps)) s.finished = null;
      this.logger.info({ path, step: s.step, epoch: s.epoch, cursor: s.cursor }, 'resuming');
      return { state: s, resumedFrom: s.step };
    };
    // a collective runner's processes start together, each with only its own table rows
    if (this.coll) {
      const got = await this.coll.start({
        fresh: () => initTrainState(o.model, o.schema, o.config, baseRates(o.train), { table: false }),
        initRows: (N, u, out) => initTableRows(o.config, o.schema.tableRows, o.model.dim, N, u, out),
        resume: o.resume && o.runDir ? { runDir: o.runDir, check } : undefined,
      });
      return got.resumedFrom === undefined ? got : resumed(got.state, got.path ?? o.runDir!);
    }
    if (o.initialState) return { state: o.initialState };
    if (o.resume && o.runDir) {
      const got = await loadLastGoodCheckpoint(o.runDir, check);
      if (got) return resumed(got.ck.state, got.path);
    }
    return { state: initTrainState(o.model, o.schema, o.config, baseRates(o.train)) };
  }

  /** false on an MPI follower rank: it trains but writes nothing */
  private get lead(): boolean {
    return !this.coll?.follower;
  }

  private metricsLine(obj: object): void {
    if (!this.opts.runDir || !this.lead) return;
    const p = join(this.opts.runDir, 'metrics.jsonl');
    withFsErrorsSync(p, 'cannot append to the metrics log', () => appendFileSync(p, JSON.stringify(obj) + '\n'));
  }

  /** Writes a checkpoint (a collective runner's processes each write their shard, the lead the manifest). */
  private async checkpoint(state: TrainState): Promise<void> {
    if (!this.opts.runDir) return;
    const path = this.coll ? await this.coll.save('train', this.opts.runDir, this.meta(), state) : await saveCheckpoint(this.opts.runDir, { meta: this.meta(), state });
    if (!path) return;
    this.logger.info({ step: state.step, path }, 'checkpoint');
    this.emit('checkpoint', { step: state.step, path });
  }

  /** Validation, then (collective runner) every rank adopts the lead's verdict: best, early stop. */
  private async validateAll(state: TrainState): Promise<void> {
    await this.validate(state);
    // outside validate(), so a validation that returns early still reaches the agreement
    if (this.coll && this.opts.valid && this.opts.valid.n > 0) await this.coll.agree(state);
  }

  private async validate(state: TrainState): Promise<void> {
    const o = this.opts;
    if (!o.valid || o.valid.n === 0) return;
    let p;
    if (this.coll) {
      // every process scores its part with its own rows and sees every prediction, so every
      // process reaches the same verdict below (the lead's is adopted by all after it anyway)
      p = await this.coll.predict(state, o.valid, o.config.evalBatchSize);
    } else {
      try {
        // in pieces, yielding between them: the caller's event loop keeps turning during validation
        p = await predictColumnsAsync(o.model, state.params, state.table, o.schema, o.valid, o.config.evalBatchSize, { signal: o.signal });
      } catch (e) {
        if (o.signal?.aborted) return; // stopped mid-validation: the loop sees the abort next and checkpoints
        throw e;
      }
    }
    const ll = validationLoglosses(o.valid, p);
    const metric = o.config.earlyStopOn === 'delayed' && ll.delayed !== null ? ll.delayed : ll.sum;
    const improved = state.best === null || metric < state.best.metric - o.config.minDelta;
    if (improved) {
      state.best = { metric, step: state.step };
      state.badValidations = 0;
      if (o.runDir) {
        if (this.coll) await this.coll.save('best', o.runDir, this.meta(), state);
        else await saveBest(o.runDir, { meta: this.meta(), state });
      }
    } else {
      state.badValidations++;
      if (o.config.patience > 0 && state.badValidations >= o.config.patience) state.finished = 'early-stop';
    }
    const ev: ValidEvent = { step: state.step, epoch: state.epoch, logloss: ll, metric, best: state.best!.metric, improved, badValidations: state.badValidations };
    this.metricsLine({ type: 'valid', time: new Date().toISOString(), ...ev });
    this.logger.info(ev, 'validation');
    this.emit('valid', ev);
  }

  /**
   * Resuming a run that already ended (all epochs, early stop, step budget) has nothing to do: say so
   * and write nothing (no config rewrite, no checkpoint rotation, no metrics lines).
   */
  private alreadyFinished(state: TrainState, step: number): TrainSummary {
    const why = state.finished === 'epochs' ? `all ${state.epoch} epochs done` : state.finished === 'early-stop' ? 'stopped early' : 'step budget reached';
    const more = state.finished === 'max-steps' ? ' (give a larger --max-steps to continue it)' : ' (start a new run with another --out to train differently)';
    warnOnce(`finished:${this.opts.runDir}`, `the run in ${this.opts.runDir} already finished at step ${step} (${why}); --resume has nothing to do and left it unchanged${more}`);
    return { steps: state.step, epochs: state.epoch, finished: state.finished, best: state.best, lastLoss: null, seconds: 0, samplesPerSec: 0, state, resumedFrom: step, unchanged: true };
  }

  async run(): Promise<TrainSummary> {
    const o = this.opts;
    const cfg = o.config;
    if (o.runDir) ensureDirSync(o.runDir, 'run directory');
    const runner = o.runner ?? localStepRunner(o.model, o.optim);
    this.coll = isCollective(runner) ? runner : undefined;
    let started: Awaited<ReturnType<Trainer['startState']>>;
    try {
      started = await this.startState();
    } catch (e) {
      this.coll?.abandon();
      await runner.close?.();
      throw e;
    }
    const { state, resumedFrom } = started;
    // (under MPI the ranks go through the loop together, which ends at once for a finished run)
    if (resumedFrom !== undefined && state.finished && !this.coll) {
      await o.runner?.close?.();
      return this.alreadyFinished(state, resumedFrom);
    }
    // steps logged after the checkpoint resumed from are done again: their old lines would repeat
    if (resumedFrom !== undefined && o.runDir && this.lead) trimMetricsAfter(join(o.runDir, 'metrics.jsonl'), resumedFrom);
    await o.beforeTraining?.();
    const t0 = Date.now();
    let samples = 0;
    let lastLoss: number | null = null;
    let interrupted = false;
    let batchBuf: SampleColumns | undefined;
    let ok = false;
    // throughput counts from the first step: starting workers (each loads tfjs and builds its model)
    // is a one-time cost that would otherwise make N workers look slower on a short run
    let tSteps = t0;
    try {
      // (a collective runner distributed the state in startState)
      if (runner.attach && !this.coll) await runner.attach(state);
      tSteps = Date.now();
      outer: while (!state.finished) {
        if (state.epoch >= cfg.epochs) {
          state.finished = 'epochs';
          break;
        }
        const n = o.train.n;
        const { order, after } = epochPermutation(state, n);
        state.rng = after;
        for (let b = state.cursor; b < this.stepsPerEpoch; b++) {
          if (cfg.maxSteps > 0 && state.step >= cfg.maxSteps) {
            state.finished = 'max-steps';
            break outer;
          }
          // every rank of a collective runner stops at the same step: the lead's interrupt decides
          if (this.coll ? await this.coll.agree(state, o.signal) : o.signal?.aborted) {
            interrupted = true;
            break outer;
          }
          let idx = order.subarray(b * cfg.batchSize, Math.min(n, (b + 1) * cfg.batchSize));
          // full batches reuse one buffer (a step never keeps its batch); a short last one is fresh
          const full = idx.length === cfg.batchSize;
          // an MPI rank gathers only its own part of the global batch
          if (this.coll) idx = idx.subarray(...this.coll.batchRange(idx.length));
          if (full && !batchBuf) batchBuf = allocColumns(o.schema, idx.length);
          const batch = gatherBatch(o.schema, o.train, new Int32Array(idx.buffer, idx.byteOffset, idx.length), full ? batchBuf : undefined);
          const lr = learningRate(cfg.schedule, state.step, this.totalSteps);
          const r = await runner.step(state, batch, stepHyper(cfg, lr));
          state.cursor = b + 1;
          samples += r.samples;
          lastLoss = r.loss;
          const secs = Math.max((Date.now() - tSteps) / 1000, 1e-3);
          const ev: StepEvent = { step: r.step, epoch: state.epoch, loss: r.loss, terms: r.terms, lr, samplesPerSec: samples / secs, totalSteps: this.totalSteps };
          this.metricsLine({ type: 'step', time: new Date().toISOString(), ...ev });
          this.emit('step', ev);
          if (cfg.validEvery > 0 && state.step % cfg.validEvery === 0) await this.validateAll(state);
          if (cfg.checkpointEvery > 0 && state.step % cfg.checkpointEvery === 0) await this.checkpoint(state);
          if (state.finished) break outer;
          // A step on this thread is synchronous: without a turn here, the caller's timers, I/O and
          // signal handlers (Ctrl-C, abort()) wait for the whole run. A parallel runner's step
          // already awaited its workers; one more turn costs microseconds.
          await yieldToEventLoop();
        }
        // epoch done: the next epoch's permutation is drawn from where this one's left the RNG
        state.epoch++;
        state.cursor = 0;
        state.epochRng = state.rng;
        this.emit('epoch', { epoch: state.epoch, step: state.step });
        if (cfg.validEvery === 0) await this.validateAll(state);
      }
      await this.checkpoint(state);
      await o.afterTraining?.(interrupted);
      ok = true;
    } finally {
      if (!ok) this.coll?.abandon();
      if (runner.close) await runner.close();
    }
    const seconds = (Date.now() - t0) / 1000;
    const summary: TrainSummary = {
      steps: state.step,
      epochs: state.epoch,
      finished: interrupted ? 'interrupted' : state.finished,
      best: state.best,
      lastLoss,
      seconds,
      samplesPerSec: samples / Math.max((Date.now() - tSteps) / 1000, 1e-3),
      state,
      resumedFrom,
    };
    this.metricsLine({ type: 'end', time: new Date().toISOString(), steps: summary.steps, epochs: summary.epochs, finished: summary.finished, best: summary.best, seconds, samplesPerSec: summary.samplesPerSec });
    this.logger.info({ steps: summary.steps, finished: summary.finished, best: summary.best, seconds }, 'training finished');
    this.emit('end', summary);
    return summary;
  }
}

export type { Checkpoint };
