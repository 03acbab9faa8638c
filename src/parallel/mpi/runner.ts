import { existsSync, promises as fsp } from 'node:fs';
import { join } from 'node:path';
import type { Batch, SampleColumns, Schema } from '../../data/batch.js';
import { createModel, type ModelConfig } from '../../model/index.js';
import type { Model, Predictions } from '../../model/types.js';
import type { CollectiveRunner } from '../../train/collective.js';
import { tsOptim, type OptimKernels } from '../../engine/optim.js';
import type { TrainState } from '../../train/state.js';
import { firstNonFinite, nonFiniteIn, NonFiniteLossError, type StepHyper, type StepResult } from '../../train/step.js';
import { CKPT_LATEST, CKPT_PREV, readCheckpointFile, saveManifest, type Checkpoint, type CheckpointMeta } from '../../train/checkpoint.js';
import { newShardDir, readShardRows, writeShardFile, type ShardArray } from '../../train/checkpoint-shards.js';
import { sliceColumns } from '../../train/columns.js';
import { CmdcmError } from '../../util/errors.js';
import { log, warnOnce } from '../../util/log.js';
import { combineOwnedRows, microRange, ownedSlice, sumSlice } from '../reduce.js';
import type { MpiWorld } from './binding.js';
import type { EngineName } from '../../engine/index.js';
import { TERM_NAMES, type GradResult } from '../../model/types.js';
import { ParallelStepRunner } from '../runner.js';
import { Compactor, gatherRows, planRequests, readOwnedRows, scatterRows, shardRows, type RowRequests } from './shard.js';

export interface MpiRunnerOptions {
  world: MpiWorld;
  modelConfig: ModelConfig;
  schema: Schema;
  /** dense parameter count and row width (the trainer's model) */
  paramCount: number;
  dim: number;
  tableOptimizer: 'lazyAdam' | 'adagrad';
  /** the engine's optimizer kernels (`optimKernels(engine)`); default the TypeScript reference */
  optim?: OptimKernels;
  /**
   * Hybrid ranks × threads: > 1 runs each rank's part of a batch on this many worker threads (the
   * thread transport's workers in gradient-only mode, src/parallel/runner.ts), whose summed
   * gradient the rank then reduces over the ranks. Needs `batchSize` (the largest global batch) and
   * the `engine` the threads load.
   */
  threads?: number;
  batchSize?: number;
  engine?: EngineName;
}

/** Phase wall times of a rank's last step, ms (bench/scaling reads them). */
export interface MpiStepTimes {
  /** fetching the micro-batch's rows from their owners, building the compact table */
  rows: number;
  grad: number;
  /** the losses' all-gather: mostly waiting for the slowest rank's gradient */
  wait: number;
  /** dense reduce-scatter + Adam on the owned slice */
  dense: number;
  /** row gradients to their owners + the row optimizer */
  rowUpdate: number;
  /** the parameter all-gather */
  gather: number;
  /** bytes this rank sent to other ranks in the step (its own blocks excluded) */
  bytesOut: number;
  /** the rows its micro-batch touched */
  uniqueRows: number;
}

/**
 * The phases whose table memory a rank reports (`mpi table memory` log line, test/parallel/mpi.test.ts):
 * what it owns (its rows of the table and their moments) and the peak of what it held besides for
 * the table (the compact table of a batch's rows, the row exchange buffers, a checkpoint read's
 * chunk, and a whole-state checkpoint's arrays on rank 0 when it hands their rows out).
 */
export type MemPhase = 'start' | 'train' | 'validation' | 'checkpoint' | 'calibration';
export interface PhaseMemory {
  /** the rank's own rows (table + optimizer moments), bytes */
  ownedBytes: number;
  ownedRows: number;
  /** the peak of the other table-derived buffers the rank held in the phase, bytes */
  workingBytes: number;
  /** the process's resident set at the phase's end (peak over its occurrences), MiB */
  rssMiB: number;
}

/** The scalars of a TrainState, which rank 0 hands every rank at the start. */
type Scalars = Pick<TrainState, 'step' | 'epoch' | 'cursor' | 'epochRng' | 'rng' | 'best' | 'badValidations' | 'finished'>;
const EMPTY = new Float32Array(0);

/** Testing hook (test/parallel/mpi.test.ts): CMDCM_TEST_MPI_FAULT=rank:step:kill|hang|throw. */
function injectFault(rank: number, t: number): void {
  const spec = process.env.CMDCM_TEST_MPI_FAULT;
  if (!spec) return;
  const [r, s, kind] = spec.split(':');
  if (Number(r) !== rank || Number(s) !== t) return;
  if (kind === 'kill') process.kill(process.pid, 'SIGKILL');
  if (kind === 'hang') Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0);
  if (kind === 'ckpt-kill') return;
  throw new Error(`injected fault (test) in rank ${rank} at step ${t}`);
}

/** Testing hook: `rank:step:ckpt-kill` kills the rank while it writes its shard of step's checkpoint (after its first array). */
function checkpointFault(rank: number, t: number): (() => void) | undefined {
  const [r, s, kind] = (process.env.CMDCM_TEST_MPI_FAULT ?? '').split(':');
  if (kind !== 'ckpt-kill' || Number(r) !== rank || Number(s) !== t) return undefined;
  return () => process.kill(process.pid, 'SIGKILL');
}

/** One line of an error, for the messages a rank hands the others. */
function messageOf(e: unknown): string {
  return ((e as Error)?.message ?? String(e)).split('\n')[0];
}

/**
 * The `--transport mpi` StepRunner: one per rank, every rank running the trainer loop in lockstep
 * (src/train/collective.ts). Each step a rank
 *  1. trains on its part of the global batch (microRange, the split the thread workers use), read
 *     by itself from the dataset: no sample crosses the network;
 *  2. fetches the embedding rows its part touches from their owners (row r lives on rank r mod N):
 *     an all-to-all of row ids, then one of row values, into a compact table of just those rows;
 *  3. computes its gradient, scaled by its share of the global batch, so gradients sum to the
 *     global-batch gradient;
 *  4. sends each owner the gradients of its rows (all-to-all) and each rank the slice of the dense
 *     gradient it owns (reduce-scatter as an all-to-all, summed here in rank order 0…N-1, so a run
 *     is deterministic); the owner applies lazy Adam / Adagrad to its rows once, and Adam to its
 *     dense slice;
 *  5. all-gathers the updated dense slices.
 * So N ranks with micro-batch b follow 1 worker with batch N·b (to float rounding), and a rank holds
 * 1/N of the table and its optimizer state in every phase: a fresh start draws only its rows, a
 * resume reads only its rows from the checkpoint's shard files (of any rank count), validation
 * fetches rows as a step does, and a checkpoint is one shard file per rank plus rank 0's manifest.
 * Nothing gathers the whole table (a checkpoint in the one-file format is the exception: rank 0
 * reads it whole, as the single process that wrote it held it, and hands the rows out).
 */
export class MpiStepRunner implements CollectiveRunner {
  readonly collective = true as const;
  readonly follower: boolean;
  readonly rank: number;
  readonly size: number;
  /** the last step's phase times on this rank */
  lastTimes: MpiStepTimes = { rows: 0, grad: 0, wait: 0, dense: 0, rowUpdate: 0, gather: 0, bytesOut: 0, uniqueRows: 0 };
  readonly world: MpiWorld;
  private readonly R: number;
  private readonly D: number;
  private readonly P: number;
  private readonly slice: [number, number];
  private readonly sliceCounts: Int32Array;
  private readonly sliceDispls: Int32Array;
  private shard = EMPTY;
  private shardM = EMPTY;
  private shardV = EMPTY;
  private params = EMPTY;
  private m = EMPTY;
  private v = EMPTY;
  private globalN = 0;
  /** the model over the compact table, rebuilt when a micro-batch touches more rows than it holds */
  private model?: Model;
  private compactCap = 0;
  private compact = EMPTY;
  private fieldsBuf = new Int32Array(0);
  private seqBuf = new Int32Array(0);
  private gradBuf: Float32Array;
  private rowGradBuf = EMPTY;
  private readonly compactor: Compactor;
  private abandoned = false;
  private closed = false;
  private rawModel?: Model;
  /** hybrid: this rank's gradient-only thread workers, the state they share (params, compact table) */
  private threads?: ParallelStepRunner;
  private threadState?: TrainState;
  /** hybrid: the threads' shared compact table, row gradients and row sums */
  private threadTableBytes = 0;
  private memPhase: MemPhase = 'start';
  /** per phase: what the rank held for the table (logged at close) */
  readonly memory: Partial<Record<MemPhase, PhaseMemory>> = {};

  constructor(private readonly opts: MpiRunnerOptions) {
    const w = (this.world = opts.world);
    this.rank = w.rank;
    this.size = w.size;
    this.follower = w.rank !== 0;
    this.R = opts.schema.tableRows;
    this.D = opts.dim;
    this.P = opts.paramCount;
    this.slice = ownedSlice(this.P, this.size, this.rank);
    this.sliceCounts = new Int32Array(this.size);
    this.sliceDispls = new Int32Array(this.size);
    for (let u = 0; u < this.size; u++) {
      const [a, b] = ownedSlice(this.P, this.size, u);
      this.sliceCounts[u] = b - a;
      this.sliceDispls[u] = a;
    }
    this.gradBuf = new Float32Array(this.P);
    this.compactor = new Compactor(this.R);
  }

  /** Bytes of the embedding table and its optimizer state this rank holds between steps. */
  tableBytes(): number {
    return this.shard.byteLength + this.shardM.byteLength + this.shardV.byteLength;
  }

  /** Records that `extra` bytes of table-derived buffers are live now (besides the compact table), in the current phase. */
  private noteMemory(extra = 0): void {
    const m = (this.memory[this.memPhase] ??= { ownedBytes: 0, ownedRows: 0, workingBytes: 0, rssMiB: 0 });
    m.ownedBytes = Math.max(m.ownedBytes, this.tableBytes());
    m.ownedRows = Math.max(m.ownedRows, this.shard.length / this.D);
    m.workingBytes = Math.max(m.workingBytes, this.compact.byteLength + this.rowGradBuf.byteLength + this.threadTableBytes + extra);
    m.rssMiB = Math.max(m.rssMiB, +(process.memoryUsage.rss() / 2 ** 20).toFixed(1));
  }

  /** This rank's rows of the table and its optimizer state, zeroed. */
  private allocShard(): void {
    const mine = shardRows(this.R, this.size, this.rank) * this.D;
    if (this.shard.length === mine && this.shard !== EMPTY) {
      this.shard.fill(0);
      this.shardM.fill(0);
      this.shardV.fill(0);
      return;
    }
    this.shard = new Float32Array(mine);
    this.shardM = new Float32Array(mine);
    this.shardV = this.opts.tableOptimizer === 'lazyAdam' ? new Float32Array(mine) : EMPTY;
  }

  /** Rank 0's dense parameters, moments and scalars to every rank (collective). */
  private shareDense(state: TrainState, what: string): void {
    const w = this.world, P = this.P, lead = !this.follower;
    const s = w.bcastJson<Scalars>(lead ? scalarsOf(state) : undefined, what);
    Object.assign(state, s);
    this.params = lead && state.params.length === P ? state.params : new Float32Array(P);
    this.m = lead && state.m.length === P ? state.m : new Float32Array(P);
    this.v = lead && state.v.length === P ? state.v : new Float32Array(P);
    w.bcast(this.params, 0, `${what} (parameters)`);
    w.bcast(this.m, 0, `${what} (parameters)`);
    w.bcast(this.v, 0, `${what} (parameters)`);
    if (this.threadState) {
      // the threads read the parameters from their shared region: keep them there
      this.threadState.params.set(this.params);
      this.params = this.threadState.params;
    }
    state.params = this.params;
    state.m = this.m;
    state.v = this.v;
    state.table = state.tableM = state.tableV = EMPTY;
  }

  /**
   * Hybrid ranks × threads: starts this rank's gradient-only thread workers over a shared region
   * holding the parameters and a compact table big enough for any part of a batch this rank gets.
   */
  private async startThreads(): Promise<void> {
    const T = this.opts.threads ?? 1;
    if (T <= 1 || this.threads) return;
    const { schema, batchSize } = this.opts;
    if (!(batchSize && batchSize > 0)) throw new Error('mpi runner: threads need the batch size');
    const micro = Math.ceil(batchSize / this.size);
    // every id of every sample distinct, at most the whole table, plus the padding row
    const cap = Math.min(this.R, micro * (schema.fields.length + schema.seqLen * schema.seqTokens.length)) + 1;
    const compactSchema = { ...schema, tableRows: cap };
    const model = createModel(this.opts.modelConfig, compactSchema);
    const runner = new ParallelStepRunner(model, {
      workers: T, transport: 'thread', engine: this.opts.engine, model: { config: this.opts.modelConfig }, schema: compactSchema,
      batchSize: micro, tableOptimizer: 'adagrad', gradientOnly: true,
    });
    const st = placeholderState();
    st.params = new Float32Array(this.P);
    st.table = new Float32Array(cap * this.D);
    await runner.attach(st);
    this.threads = runner;
    this.threadState = st;
    const V = runner.region()!;
    this.threadTableBytes = V.table.byteLength + V.rowGrad.byteLength + V.rowSum.byteLength;
  }

  /**
   * Hybrid: this rank's gradient from its threads (each a share of the rank's part, scaled to the
   * global batch `n`), summed by them in thread order; the compact table already holds the rows.
   */
  private async threadGrad(state: TrainState, batch: Batch, fields: Int32Array, seq: Int32Array, U: number, h: StepHyper, n: number): Promise<GradResult & { bad?: { term: string; value: number } }> {
    const V = this.threads!.region()!, D = this.D, st = this.threadState!;
    V.rowSum.fill(0, D, (U + 1) * D);
    st.step = state.step;
    const rows = new Int32Array(U);
    for (let i = 0; i < U; i++) rows[i] = i + 1;
    const g = { loss: 0, terms: {} as Record<string, number>, denseGrad: V.gradSum, rows, rowGrad: V.rowSum.subarray(D, (U + 1) * D) };
    try {
      const r = await this.threads!.step(st, { ...batch, fields, seq }, h, n);
      g.loss = r.loss;
      g.terms = r.terms;
      return g;
    } catch (e) {
      // a thread's non-finite gradient: the ranks learn of it with the losses, and all stop
      if (!(e instanceof NonFiniteLossError)) throw e;
      return { ...g, bad: { term: e.term, value: e.value } };
    }
  }

  /** Every rank checks that rank 0 trains the same model sizes and table optimizer (collective). */
  private checkShapes(): void {
    const w = this.world, lead = !this.follower;
    const meta = w.bcastJson(lead ? { P: this.P, R: this.R, D: this.D, opt: this.opts.tableOptimizer } : undefined, 'startup');
    if (meta.P !== this.P || meta.R !== this.R || meta.D !== this.D || meta.opt !== this.opts.tableOptimizer) {
      throw new CmdcmError(`MPI rank ${this.rank}: rank 0 trains ${meta.P} dense parameters and a ${meta.R} × ${meta.D} table with ${meta.opt}, this rank ${this.P} and ${this.R} × ${this.D} with ${this.opts.tableOptimizer}: every rank must run the same cmdcm on the same dataset and config`);
    }
  }

  private ready(): void {
    this.noteMemory();
    log().info({ rank: this.rank, ranks: this.size, host: this.world.host, tableRows: shardRows(this.R, this.size, this.rank), tableBytes: this.tableBytes() }, 'mpi rank ready');
  }

  async start(o: Parameters<CollectiveRunner['start']>[0]): Promise<{ state: TrainState; resumedFrom?: number; path?: string }> {
    const w = this.world, lead = !this.follower;
    this.memPhase = 'start';
    w.phase = 'startup';
    this.checkShapes();
    await this.startThreads();
    if (o.resume) {
      const got = await this.resume(o.resume.runDir, o.resume.check);
      if (got) {
        this.ready();
        return { state: got.state, resumedFrom: got.state.step, path: got.path };
      }
    }
    const state = lead ? o.fresh() : placeholderState();
    this.shareDense(state, 'startup');
    this.allocShard();
    o.initRows(this.size, this.rank, this.shard);
    this.ready();
    return { state };
  }

  /**
   * The run's last good checkpoint (latest, else prev, as loadLastGoodCheckpoint): the lead reads
   * the file and checks it, every rank reads its own rows. Undefined when the run has none; a
   * CmdcmError on every rank when none is usable.
   */
  private async resume(runDir: string, check: (ck: Checkpoint, path: string) => void): Promise<{ state: TrainState; path: string } | undefined> {
    const w = this.world, lead = !this.follower;
    const latest = join(runDir, CKPT_LATEST), prev = join(runDir, CKPT_PREV);
    const candidates = w.bcastJson(lead ? [latest, prev].filter((p) => existsSync(p)) : undefined, 'resume');
    if (candidates.length === 0) return undefined;
    const why: string[] = [];
    for (const path of candidates) {
      const got = await this.load(path, check, true);
      if ('err' in got) {
        why.push(got.err);
        continue;
      }
      if (why.length > 0 && lead) {
        // as loadLastGoodCheckpoint: the writer sets the bad latest aside so the next save keeps prev
        warnOnce(`ckpt-fallback:${latest}`, `${why[0]}; resuming from the previous checkpoint ${prev} (step ${got.state.step})`);
        await fsp.rename(latest, latest + '.corrupt').catch(() => {});
      }
      return { state: got.state, path };
    }
    throw new CmdcmError(candidates.length === 1 && candidates[0] === latest ? `${why[0]}; no previous checkpoint (${prev}) to fall back to`
      : why.length === 1 ? why[0] : `${why[0]}; the previous checkpoint is unusable too: ${why[1]}`);
  }

  /**
   * Checkpoint `path` into this rank (collective): the dense state on every rank, each rank's own
   * rows of the table (and with `moments` of its optimizer state). `{ err }`, the same on every rank,
   * when the lead cannot read or `check` refuses the file, or any rank cannot read its rows.
   */
  private async load(path: string, check: ((ck: Checkpoint, path: string) => void) | undefined, moments: boolean): Promise<{ state: TrainState } | { err: string }> {
    const w = this.world, lead = !this.follower, R = this.R, D = this.D;
    w.phase = `reading ${path}`;
    let ck: Checkpoint | undefined, err: string | undefined;
    if (lead) {
      try {
        ck = await readCheckpointFile(path);
        check?.(ck, path);
      } catch (e) {
        if (!(e instanceof CmdcmError)) throw e;
        err = e.message;
      }
    }
    const head = w.bcastJson(lead ? { err: err ?? null, shards: ck?.shards ?? null } : undefined, 'resume');
    if (head.err !== null) return { err: head.err };
    const state = lead ? ck!.state : placeholderState();
    // a whole-state file's table arrays (the lead's), before shareDense empties the state's
    const whole = { table: state.table, tableM: state.tableM, tableV: state.tableV };
    const keep = moments ? undefined : { m: this.m, v: this.v };
    this.shareDense(state, 'resume');
    if (keep) {
      // predicting from a checkpoint (calibration) leaves the training moments as they were
      state.m = this.m = keep.m;
      state.v = this.v = keep.v;
    }
    if (moments || this.shard === EMPTY) this.allocShard();
    if (head.shards) {
      const out: Partial<Record<ShardArray, Float32Array>> = { table: this.shard };
      if (moments) {
        out.tableM = this.shardM;
        if (this.shardV.length > 0) out.tableV = this.shardV;
      }
      let mine: string | null = null;
      try {
        this.noteMemory(Math.min(1 << 20, this.shard.byteLength));
        await readShardRows(join(path, '..'), head.shards, R, D, this.size, this.rank, out);
      } catch (e) {
        if (!(e instanceof CmdcmError)) throw e;
        mine = e.message;
      }
      const all = w.allgatherJson(mine, 'resume (shard reads)');
      const bad = all.findIndex((x) => x !== null);
      if (bad >= 0) return { err: `MPI rank ${bad}: ${all[bad]}` };
    } else {
      // a whole-state file: rank 0 holds it (the single process that wrote it did) and hands out the rows
      if (lead) this.noteMemory(whole.table.byteLength + whole.tableM.byteLength + whole.tableV.byteLength);
      w.shard(lead ? whole.table : EMPTY, this.shard, R, D, true);
      if (moments) {
        w.shard(lead ? whole.tableM : EMPTY, this.shardM, R, D, true);
        if (this.shardV.length > 0) w.shard(lead ? whole.tableV : EMPTY, this.shardV, R, D, true);
      }
    }
    state.table = state.tableM = state.tableV = EMPTY;
    return { state };
  }

  /** The lead's whole state (table included) out to the ranks: the library's and bench/scaling's start (the trainer uses `start`). */
  async attach(state: TrainState): Promise<void> {
    const w = this.world, R = this.R, D = this.D, P = this.P;
    w.phase = 'startup';
    const lead = !this.follower;
    const meta = w.bcastJson(lead ? { P: state.params.length, tableValues: state.table.length, opt: this.opts.tableOptimizer } : undefined, 'startup');
    if (meta.P !== P || meta.tableValues !== R * D || meta.opt !== this.opts.tableOptimizer) {
      throw new Error(`MPI rank ${this.rank}: rank 0 trains ${meta.P} dense parameters / ${meta.tableValues} table values with ${meta.opt}, this rank ${P} / ${R * D} with ${this.opts.tableOptimizer}`);
    }
    const s = w.bcastJson<Scalars>(lead ? scalarsOf(state) : undefined, 'startup');
    Object.assign(state, s);
    this.params = lead ? state.params : new Float32Array(P);
    this.m = lead ? state.m : new Float32Array(P);
    this.v = lead ? state.v : new Float32Array(P);
    w.bcast(this.params, 0, 'startup (parameters)');
    w.bcast(this.m, 0, 'startup (parameters)');
    w.bcast(this.v, 0, 'startup (parameters)');
    const mine = shardRows(R, this.size, this.rank) * D;
    this.shard = new Float32Array(mine);
    this.shardM = new Float32Array(mine);
    this.shardV = this.opts.tableOptimizer === 'lazyAdam' ? new Float32Array(mine) : EMPTY;
    w.shard(lead ? state.table : EMPTY, this.shard, R, D, true);
    w.shard(lead ? state.tableM : EMPTY, this.shardM, R, D, true);
    if (this.shardV.length > 0) w.shard(lead ? state.tableV : EMPTY, this.shardV, R, D, true);
    // the full table is no longer needed here: rank 0 gathers it again for validation and checkpoints
    state.params = this.params;
    state.m = this.m;
    state.v = this.v;
    state.table = state.tableM = state.tableV = EMPTY;
    log().info({ rank: this.rank, ranks: this.size, host: w.host, tableRows: shardRows(R, this.size, this.rank), tableBytes: this.tableBytes() }, 'mpi rank ready');
  }

  batchRange(n: number): [number, number] {
    this.globalN = n;
    return microRange(n, this.size, this.rank);
  }

  /** The compact table and its model, holding at least `rows` rows (row 0 = padding); `raw`: without the delayed calibration. */
  private ensureCompact(rows: number, raw = false): Model {
    if (!this.model || rows > this.compactCap) {
      this.compactCap = Math.max(rows, Math.min(this.R, this.compactCap * 2), 1024);
      this.model = createModel(this.opts.modelConfig, { ...this.opts.schema, tableRows: this.compactCap });
      this.rawModel = undefined;
      this.compact = new Float32Array(this.compactCap * this.D);
    }
    if (!raw) return this.model;
    return (this.rawModel ??= createModel({ ...this.opts.modelConfig, delayedCalibration: null }, { ...this.opts.schema, tableRows: this.compactCap }));
  }

  /**
   * The rows `unique` (ascending) from their owners into the compact table (row 0 zeros, then the
   * rows in order): an all-to-all of counts, one of row ids, one of row values. Collective: every
   * rank calls it, with its own rows (possibly none).
   */
  private fetchRows(unique: Int32Array, raw = false, into?: Float32Array): { req: RowRequests; got: Int32Array; cap: number; gotDispls: Int32Array; askedIds: Int32Array; model?: Model } {
    const w = this.world, N = this.size, D = this.D;
    const req = planRequests(unique, N);
    const one = new Int32Array(N).fill(1), iota = Int32Array.from({ length: N }, (_, u) => u);
    const got = new Int32Array(N);
    w.alltoallv(req.counts, one, iota, got, one, iota, 'row request counts');
    let cap = 0;
    for (let u = 0; u < N; u++) cap = Math.max(cap, got[u]);
    const gotDispls = Int32Array.from({ length: N }, (_, u) => u * cap);
    const askedIds = new Int32Array(N * cap);
    w.alltoallv(req.ids, req.counts, req.displs, askedIds, got, gotDispls, 'row requests');
    const answer = new Float32Array(N * cap * D);
    for (let u = 0; u < N; u++) readOwnedRows(this.shard, D, N, askedIds, u * cap, got[u], answer, u * cap);
    const values = new Float32Array(unique.length * D);
    w.alltoallv(answer, scale(got, D), scale(gotDispls, D), values, scale(req.counts, D), scale(req.displs, D), 'row values');
    // hybrid steps fill the threads' shared compact table instead
    const model = into ? undefined : this.ensureCompact(unique.length + 1, raw);
    const table = into ?? this.compact;
    if (table.length < (unique.length + 1) * D) throw new Error(`mpi runner: ${unique.length} rows do not fit the compact table of ${table.length / D} rows`);
    table.fill(0, 0, D);
    scatterRows(values, req.order, 1, D, table);
    this.noteMemory(askedIds.byteLength + answer.byteLength + values.byteLength);
    return { req, got, cap, gotDispls, askedIds, model };
  }

  async step(state: TrainState, batch: Batch, h: StepHyper): Promise<StepResult> {
    const w = this.world, N = this.size, D = this.D, t = state.step + 1;
    const n = this.globalN;
    if (!(n > 0)) throw new Error('mpi runner: batchRange was not called before step');
    w.phase = `step ${t}`;
    injectFault(this.rank, t);
    const t0 = performance.now();

    this.memPhase = 'train';
    // 2. the rows this rank's samples touch, fetched from their owners
    const { fields, seq, unique } = this.compactIds(batch);
    const { req, got, cap, gotDispls, askedIds, model } = this.fetchRows(unique, false, this.threadState?.table);
    const t1 = performance.now();

    // 3. this rank's gradient, as its share of the global-batch mean (hybrid: from its threads)
    let g: GradResult & { bad?: { term: string; value: number } };
    if (this.threads) {
      g = await this.threadGrad(state, batch, fields, seq, unique.length, h, n);
    } else {
      if (this.rowGradBuf.length < unique.length * D) this.rowGradBuf = new Float32Array(Math.ceil(unique.length * 1.25) * D);
      g = model!.grad(this.params, this.compact, { ...batch, fields, seq }, batch.n / n, { dense: this.gradBuf, rowGrad: this.rowGradBuf });
      if (g.rows.length !== unique.length) throw new Error(`mpi runner: the model returned ${g.rows.length} row gradients for ${unique.length} gathered rows`);
    }
    const gradBuf = g.denseGrad;
    const t2 = performance.now();

    // loss, terms and any non-finite value, from every rank in rank order. The slots are every term
    // name (value, reported or not) whatever this rank's batch held: a rank, or all its threads, with
    // no sample of the last batch of an epoch reports no terms, and a different count truncated
    // the exchange (MPI_ERR_TRUNCATE)
    const names: readonly string[] = TERM_NAMES;
    const T = names.length, K = 2 * T + 3;
    const mineStats = new Float64Array(K);
    mineStats[0] = g.loss;
    names.forEach((k, i) => {
      if (!(k in g.terms)) return;
      mineStats[1 + i] = g.terms[k];
      mineStats[1 + T + i] = 1;
    });
    const bad = g.bad ?? nonFiniteIn(g, firstNonFinite);
    const badNames = [...names, ...names, 'loss', 'dense gradient', 'embedding gradient'];
    // (a name a thread reported that this rank's terms lack counts as the loss)
    mineStats[K - 2] = bad ? (badNames.indexOf(bad.term) + 1 || K - 2) : 0;
    mineStats[K - 1] = bad ? bad.value : 0;
    const stats = new Float64Array(N * K);
    w.allgatherv(mineStats, stats, new Int32Array(N).fill(K), Int32Array.from({ length: N }, (_, u) => u * K), 'step losses');
    let loss = 0;
    const terms: Record<string, number> = {};
    for (let u = 0; u < N; u++) {
      loss += stats[u * K];
      names.forEach((k, i) => {
        if (stats[u * K + 1 + T + i] > 0) terms[k] = (terms[k] ?? 0) + stats[u * K + 1 + i];
      });
    }
    for (let u = 0; u < N; u++) {
      if (stats[u * K + K - 2] !== 0) {
        // every rank sees the same stats, so every rank stops here, the state untouched
        throw new NonFiniteLossError(t, badNames[stats[u * K + K - 2] - 1] ?? 'gradient', stats[u * K + K - 1]);
      }
    }

    const t3 = performance.now();
    // 4. dense: reduce-scatter (summed in rank order), Adam on the owned slice
    const [lo, hi] = this.slice, len = hi - lo;
    const parts = new Float32Array(N * len);
    w.alltoallv(gradBuf, this.sliceCounts, this.sliceDispls, parts, new Int32Array(N).fill(len), Int32Array.from({ length: N }, (_, u) => u * len), 'dense gradient reduce-scatter');
    const summed = new Float32Array(len);
    if (len > 0) {
      sumSlice(parts, len, N, 0, len, summed);
      (this.opts.optim ?? tsOptim).adamDense(this.params.subarray(lo, hi), summed, this.m.subarray(lo, hi), this.v.subarray(lo, hi), { lr: h.lr, beta1: h.beta1, beta2: h.beta2, eps: h.eps, step: t });
    }
    const t4 = performance.now();
    // rows: each owner receives its rows' gradients from every rank, sums them in rank order, updates once
    const sendGrad = new Float32Array(req.ids.length * D);
    gatherRows(g.rowGrad, req.order, D, sendGrad);
    const gotGrad = new Float32Array(N * cap * D);
    w.alltoallv(sendGrad, scale(req.counts, D), scale(req.displs, D), gotGrad, scale(got, D), scale(gotDispls, D), 'row gradients');
    let total = 0;
    for (let u = 0; u < N; u++) total += got[u];
    const outRows = new Int32Array(total), outGrad = new Float32Array(total * D);
    const k = combineOwnedRows(N, this.rank, got, askedIds, gotGrad, cap, D, outRows, outGrad);
    this.noteMemory(askedIds.byteLength + sendGrad.byteLength + gotGrad.byteLength + outGrad.byteLength);
    if (k > 0) {
      const local = new Int32Array(k);
      for (let i = 0; i < k; i++) local[i] = Math.floor(outRows[i] / N);
      const rowGrad = outGrad.subarray(0, k * D);
      if (this.shardV.length > 0) (this.opts.optim ?? tsOptim).lazyAdamRows(this.shard, this.shardM, this.shardV, D, local, rowGrad, { lr: h.tableLr, beta1: h.beta1, beta2: h.beta2, eps: h.eps, step: t });
      else (this.opts.optim ?? tsOptim).adagradRows(this.shard, this.shardM, D, local, rowGrad, { lr: h.tableLr, eps: h.eps });
    }
    const t5 = performance.now();
    // 5. every rank gets every updated dense slice
    const mineParams = this.params.slice(lo, hi);
    w.allgatherv(mineParams, this.params, this.sliceCounts, this.sliceDispls, 'parameter all-gather');
    const t6 = performance.now();
    // what this rank sent to the others (the block a rank keeps for itself never leaves it):
    // request counts, row ids, the rows others asked for, losses, dense slices, row gradients, its slice
    const others = (counts: Int32Array, per: number) => (counts.reduce((a, x) => a + x, 0) - counts[this.rank]) * per;
    const bytesOut = 4 * (N - 1) + others(req.counts, 4) + others(got, 4 * D) + 8 * K * (N - 1) +
      4 * (this.P - len) + others(req.counts, 4 * D) + 4 * len * (N - 1);
    this.lastTimes = { rows: t1 - t0, grad: t2 - t1, wait: t3 - t2, dense: t4 - t3, rowUpdate: t5 - t4, gather: t6 - t5, bytesOut, uniqueRows: unique.length };
    state.step = t;
    return { step: t, loss, terms, samples: n };
  }

  /** A batch's ids as indices into the compact table (1 + position among its unique rows, 0 = padding), and the unique rows. */
  private compactIds(batch: Pick<Batch, 'fields' | 'seq'>): { fields: Int32Array; seq: Int32Array; unique: Int32Array } {
    if (this.fieldsBuf.length < batch.fields.length) this.fieldsBuf = new Int32Array(batch.fields.length);
    if (this.seqBuf.length < batch.seq.length) this.seqBuf = new Int32Array(batch.seq.length);
    const fields = this.fieldsBuf.subarray(0, batch.fields.length), seq = this.seqBuf.subarray(0, batch.seq.length);
    const unique = this.compactor.compact([batch.fields, batch.seq], [fields, seq]);
    return { fields, seq, unique };
  }

  async save(kind: 'train' | 'best', runDir: string, meta: CheckpointMeta, state: TrainState): Promise<string | undefined> {
    const w = this.world, lead = !this.follower, N = this.size;
    const was = this.memPhase;
    this.memPhase = 'checkpoint';
    w.phase = `the ${kind === 'best' ? 'best-parameters ' : ''}checkpoint of step ${state.step}`;
    const dir = w.bcastJson(lead ? newShardDir(kind, state.step) : undefined, 'checkpoint');
    let m = EMPTY, v = EMPTY;
    if (kind === 'train') {
      // each rank updated only its own slice of the dense moments
      const [lo, hi] = this.slice;
      w.allgatherv(this.m.slice(lo, hi), this.m, this.sliceCounts, this.sliceDispls, 'moment gather');
      w.allgatherv(this.v.slice(lo, hi), this.v, this.sliceCounts, this.sliceDispls, 'moment gather');
      m = this.m;
      v = this.v;
    }
    const arrays: ShardArray[] = kind === 'best' ? ['table'] : this.shardV.length > 0 || this.opts.tableOptimizer === 'lazyAdam' ? ['table', 'tableM', 'tableV'] : ['table', 'tableM'];
    const data = { table: this.shard, tableM: this.shardM, tableV: this.shardV };
    let mine: { file?: { name: string; bytes: number; crc: number }; err?: string };
    try {
      // straight from the rank's own arrays: the rows are not copied
      mine = { file: await writeShardFile(runDir, dir, this.rank, N, this.R, this.D, arrays.map((a) => data[a]), checkpointFault(this.rank, state.step)) };
    } catch (e) {
      mine = { err: messageOf(e) };
    }
    const all = w.allgatherJson(mine, 'checkpoint (shard files)');
    const failed = all.findIndex((x) => x.err !== undefined);
    if (failed >= 0) {
      if (lead) await fsp.rm(join(runDir, dir), { recursive: true, force: true }).catch(() => {});
      throw new CmdcmError(`MPI rank ${failed}: ${all[failed].err}; the checkpoint of step ${state.step} was not written (the previous one is kept)`);
    }
    let path: string | undefined, err: string | null = null;
    if (lead) {
      try {
        path = await saveManifest(runDir, {
          meta: { ...meta, kind },
          state: { ...state, params: this.params, m, v, table: EMPTY, tableM: EMPTY, tableV: EMPTY },
          shards: { dir, ranks: N, arrays, files: all.map((x) => x.file!) },
        });
      } catch (e) {
        err = messageOf(e);
      }
    }
    // every rank stops on the lead's failure, not only the lead
    const verdict = w.bcastJson(lead ? err : undefined, 'checkpoint (manifest)');
    if (verdict !== null) throw new CmdcmError(lead ? verdict : `MPI rank 0 could not write the checkpoint manifest: ${verdict}`);
    this.noteMemory();
    this.memPhase = was;
    return path;
  }

  async predict(state: TrainState, cols: SampleColumns, batchSize: number, opts: { raw?: boolean; phase?: MemPhase } = {}): Promise<Predictions> {
    if (!Number.isInteger(batchSize) || batchSize < 1) throw new RangeError(`mpi predict: batchSize must be a positive integer, got ${batchSize}`);
    const w = this.world, N = this.size, lead = !this.follower;
    const was = this.memPhase;
    this.memPhase = opts.phase ?? 'validation';
    const out: Predictions = { direct: new Float32Array(cols.n), atc: new Float32Array(cols.n), transition: new Float32Array(cols.n), delayed: new Float32Array(cols.n) };
    const counts = new Int32Array(N), displs = new Int32Array(N);
    for (let s = 0; s < cols.n; s += batchSize) {
      w.phase = `${this.memPhase} at step ${state.step}`;
      const e = Math.min(cols.n, s + batchSize), len = e - s;
      // each pass split as a step's batch is: rank u scores samples microRange(len, N, u)
      for (let u = 0; u < N; u++) {
        const [a, b] = microRange(len, N, u);
        counts[u] = (b - a) * 4;
        displs[u] = a * 4;
      }
      const [lo, hi] = microRange(len, N, this.rank);
      const part = sliceColumns(this.opts.schema, cols, s + lo, s + hi);
      const { fields, seq, unique } = this.compactIds(part);
      const { model } = this.fetchRows(unique, opts.raw);
      const mine = new Float32Array((hi - lo) * 4);
      if (hi > lo) {
        const p = model!.predict(this.params, this.compact, { ...part, fields, seq });
        for (let i = 0; i < hi - lo; i++) {
          mine[i * 4] = p.direct[i];
          mine[i * 4 + 1] = p.atc[i];
          mine[i * 4 + 2] = p.transition[i];
          mine[i * 4 + 3] = p.delayed[i];
        }
      }
      const all = new Float32Array(len * 4);
      w.allgatherv(mine, all, counts, displs, `${this.memPhase} predictions`);
      for (let i = 0; i < len; i++) {
        out.direct[s + i] = all[i * 4];
        out.atc[s + i] = all[i * 4 + 1];
        out.transition[s + i] = all[i * 4 + 2];
        out.delayed[s + i] = all[i * 4 + 3];
      }
      // signal handlers (the lead's graceful stop) get their turn; the stop itself is agreed later
      if (lead) await new Promise<void>((resolve) => setImmediate(resolve));
    }
    this.memPhase = was;
    return out;
  }

  /**
   * Loads checkpoint `path`'s parameters and table rows (no moments) into the ranks and predicts
   * `cols` without the delayed calibration (collective): the MPI run's calibration fit after
   * training (src/parallel/mpi/calibrate.ts). The training state is gone afterwards.
   */
  async predictFrom(path: string, state: TrainState, cols: SampleColumns, batchSize: number): Promise<Predictions> {
    this.memPhase = 'calibration';
    const got = await this.load(path, undefined, false);
    if ('err' in got) throw new CmdcmError(got.err);
    Object.assign(state, got.state);
    return this.predict(state, cols, batchSize, { raw: true, phase: 'calibration' });
  }

  async agree(state: TrainState, stop?: AbortSignal): Promise<boolean> {
    // A step runs synchronously (the collectives poll inside the addon): without this turn of the
    // event loop a signal's handler (the CLI's graceful stop) would only run after training.
    await new Promise<void>((resolve) => setImmediate(resolve));
    const lead = !this.follower;
    const s = this.world.bcastJson(lead ? { best: state.best, badValidations: state.badValidations, finished: state.finished, stop: Boolean(stop?.aborted) } : undefined, 'agreement');
    state.best = s.best;
    state.badValidations = s.badValidations;
    state.finished = s.finished;
    return s.stop;
  }

  abandon(): void {
    this.abandoned = true;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.threads?.close();
    // after an error this rank exits with it and the launcher stops the others; waiting for them
    // in MPI_Finalize could wait for a rank that is itself stuck in a collective
    if (this.abandoned) return;
    log().info({ rank: this.rank, ranks: this.size, tableRows: shardRows(this.R, this.size, this.rank), phases: this.memory }, 'mpi table memory');
    this.world.phase = 'shutdown';
    this.world.barrier('shutdown');
    this.world.finalize();
  }
}

/** A follower rank's state before attach fills it from rank 0 (no full table is ever built there). */
export function placeholderState(): TrainState {
  return {
    params: EMPTY, m: EMPTY, v: EMPTY, table: EMPTY, tableM: EMPTY, tableV: EMPTY,
    step: 0, epoch: 0, cursor: 0, epochRng: [0, 0, 0, 0], rng: [0, 0, 0, 0], best: null, badValidations: 0, finished: null,
  };
}

function scale(a: Int32Array, k: number): Int32Array {
  return a.map((x) => x * k);
}

function scalarsOf(s: TrainState): Scalars {
  return { step: s.step, epoch: s.epoch, cursor: s.cursor, epochRng: s.epochRng, rng: s.rng, best: s.best, badValidations: s.badValidations, finished: s.finished };
}
