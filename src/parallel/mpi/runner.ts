import type { Batch, Schema } from '../../data/batch.js';
import { createModel, type ModelConfig } from '../../model/index.js';
import type { Model } from '../../model/types.js';
import type { CollectiveRunner } from '../../train/collective.js';
import { tsOptim, type OptimKernels } from '../../engine/optim.js';
import type { TrainState } from '../../train/state.js';
import { firstNonFinite, nonFiniteIn, NonFiniteLossError, type StepHyper, type StepResult } from '../../train/step.js';
import { log } from '../../util/log.js';
import { combineOwnedRows, microRange, ownedSlice, sumSlice } from '../reduce.js';
import type { MpiWorld } from './binding.js';
import { Compactor, gatherRows, planRequests, readOwnedRows, scatterRows, shardRows } from './shard.js';

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
  throw new Error(`injected fault (test) in rank ${rank} at step ${t}`);
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
 * 1/N of the table and its optimizer state. Rank 0 gathers the whole state for validation and
 * checkpoints, so a checkpoint does not depend on the rank count.
 */
export class MpiStepRunner implements CollectiveRunner {
  readonly collective = true as const;
  readonly follower: boolean;
  readonly rank: number;
  readonly size: number;
  /** the last step's phase times on this rank */
  lastTimes: MpiStepTimes = { rows: 0, grad: 0, wait: 0, dense: 0, rowUpdate: 0, gather: 0, bytesOut: 0, uniqueRows: 0 };
  private readonly world: MpiWorld;
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

  /** The compact table and its model, holding at least `rows` rows (row 0 = padding). */
  private ensureCompact(rows: number): Model {
    if (!this.model || rows > this.compactCap) {
      this.compactCap = Math.max(rows, Math.min(this.R, this.compactCap * 2), 1024);
      this.model = createModel(this.opts.modelConfig, { ...this.opts.schema, tableRows: this.compactCap });
      this.compact = new Float32Array(this.compactCap * this.D);
    }
    return this.model;
  }

  async step(state: TrainState, batch: Batch, h: StepHyper): Promise<StepResult> {
    const w = this.world, N = this.size, D = this.D, t = state.step + 1;
    const n = this.globalN;
    if (!(n > 0)) throw new Error('mpi runner: batchRange was not called before step');
    w.phase = `step ${t}`;
    injectFault(this.rank, t);
    const t0 = performance.now();

    // 2. the rows this rank's samples touch, fetched from their owners
    if (this.fieldsBuf.length < batch.fields.length) this.fieldsBuf = new Int32Array(batch.fields.length);
    if (this.seqBuf.length < batch.seq.length) this.seqBuf = new Int32Array(batch.seq.length);
    const fields = this.fieldsBuf.subarray(0, batch.fields.length), seq = this.seqBuf.subarray(0, batch.seq.length);
    // the unique rows, and the batch's ids as indices into the compact table built below
    const unique = this.compactor.compact([batch.fields, batch.seq], [fields, seq]);
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
    const model = this.ensureCompact(unique.length + 1);
    const table = this.compact;
    table.fill(0, 0, D);
    scatterRows(values, req.order, 1, D, table);
    const t1 = performance.now();

    // 3. this rank's gradient, as its share of the global-batch mean
    if (this.rowGradBuf.length < unique.length * D) this.rowGradBuf = new Float32Array(Math.ceil(unique.length * 1.25) * D);
    const g = model.grad(this.params, table, { ...batch, fields, seq }, batch.n / n, { dense: this.gradBuf, rowGrad: this.rowGradBuf });
    if (g.rows.length !== unique.length) throw new Error(`mpi runner: the model returned ${g.rows.length} row gradients for ${unique.length} gathered rows`);
    const t2 = performance.now();

    // loss, terms and any non-finite value, from every rank in rank order
    const names = Object.keys(g.terms).sort();
    const K = names.length + 3;
    const mineStats = new Float64Array(K);
    mineStats[0] = g.loss;
    names.forEach((k, i) => (mineStats[1 + i] = g.terms[k]));
    const bad = nonFiniteIn(g, firstNonFinite);
    const badNames = [...names, 'loss', 'dense gradient', 'embedding gradient'];
    mineStats[K - 2] = bad ? badNames.indexOf(bad.term) + 1 : 0;
    mineStats[K - 1] = bad ? bad.value : 0;
    const stats = new Float64Array(N * K);
    w.allgatherv(mineStats, stats, new Int32Array(N).fill(K), Int32Array.from({ length: N }, (_, u) => u * K), 'step losses');
    let loss = 0;
    const terms: Record<string, number> = Object.fromEntries(names.map((k) => [k, 0]));
    for (let u = 0; u < N; u++) {
      loss += stats[u * K];
      names.forEach((k, i) => (terms[k] += stats[u * K + 1 + i]));
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
    w.alltoallv(this.gradBuf, this.sliceCounts, this.sliceDispls, parts, new Int32Array(N).fill(len), Int32Array.from({ length: N }, (_, u) => u * len), 'dense gradient reduce-scatter');
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

  async snapshot(state: TrainState, moments: boolean): Promise<TrainState | undefined> {
    const w = this.world, R = this.R, D = this.D, lead = !this.follower;
    w.phase = `the gather of step ${state.step}`;
    const full = (a: Float32Array) => {
      const out = lead ? new Float32Array(R * D) : EMPTY;
      w.shard(out, a, R, D, false);
      return out;
    };
    const table = full(this.shard);
    let tableM = EMPTY, tableV = EMPTY, m = EMPTY, v = EMPTY;
    if (moments) {
      tableM = full(this.shardM);
      if (this.shardV.length > 0) tableV = full(this.shardV);
      // each rank updated only its own slice of the dense moments
      const [lo, hi] = this.slice;
      w.allgatherv(this.m.slice(lo, hi), this.m, this.sliceCounts, this.sliceDispls, 'moment gather');
      w.allgatherv(this.v.slice(lo, hi), this.v, this.sliceCounts, this.sliceDispls, 'moment gather');
      m = this.m;
      v = this.v;
    }
    if (!lead) return undefined;
    return { ...state, params: this.params, m, v, table, tableM, tableV };
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
    // after an error this rank exits with it and the launcher stops the others; waiting for them
    // in MPI_Finalize could wait for a rank that is itself stuck in a collective
    if (this.abandoned) return;
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
