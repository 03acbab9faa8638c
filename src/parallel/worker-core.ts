import type { Schema } from '../data/batch.js';
import type { GradResult, Model } from '../model/types.js';
import type { EngineName } from '../engine/index.js';
import { Barrier } from './barrier.js';
import { C_BAD, viewsOf, sliceBatch, type RegionLayout, type RegionViews } from './layout.js';
import { combineOwnedRows, microRange, ownedSlice, sumSlice } from './reduce.js';
import { reduceKernels, type ReduceKernels } from './reduce-kernels.js';
import { optimKernels, type RowState } from '../engine/optim.js';
import { nonFiniteIn } from '../train/step.js';
import type { Waiter } from './region.js';
import { readFileSync } from 'node:fs';

/**
 * CPU ms this thread has run (Linux: /proc/thread-self/schedstat, ns resolution), for the phase
 * timings that bench/scaling.ts asks for with CMDCM_PHASE_CPU=1; wall time alone cannot tell a
 * worker that computes from one the machine's other tenants have descheduled.
 */
function threadCpuMs(): number {
  try {
    return Number(readFileSync('/proc/thread-self/schedstat', 'latin1').split(' ')[0]) / 1e6;
  } catch {
    return NaN;
  }
}
const PHASE_CPU = process.env.CMDCM_PHASE_CPU === '1';

/** What a worker needs to build its model (sent in its init message, so plain data). */
export interface ModelSpec {
  /** module exporting createModel(config, schema) → Model; default: cmdcm's src/model */
  module?: string;
  config: unknown;
}

/** Testing hook: make worker `worker` fail at `step` ('throw' an error, 'exit' its thread/process, 'kill' itself with SIGKILL, 'stop' itself with SIGSTOP). */
export interface FaultInjection {
  worker: number;
  step: number;
  kind: 'throw' | 'exit' | 'kill' | 'stop';
}

export interface WorkerInit {
  w: number;
  layout: RegionLayout;
  schema: Schema;
  model: ModelSpec;
  engine: EngineName;
  fault?: FaultInjection;
}

/** One step's orders from the coordinator. */
export interface StepOrder {
  type: 'step';
  /** 1-based optimizer step (Adam bias correction) */
  t: number;
  /** samples in this global batch */
  n: number;
  lr: number;
  tableLr: number;
  beta1: number;
  beta2: number;
  eps: number;
  /** the samples a worker's share is a fraction of (default n): an MPI rank's threads split the rank's part of a larger global batch */
  scaleN?: number;
}

export interface StepReport {
  type: 'done';
  w: number;
  t: number;
  loss: number;
  terms: Record<string, number>;
  /** first non-finite value this worker saw: the step was skipped by every worker */
  bad?: { term: string; value: number };
  /** wall ms of this worker's phases: gradient, publish, barrier wait, reduce + optimizer (bench/scaling.ts sums them) */
  ms?: { grad: number; publish: number; barrier: number; reduce: number };
  /** the same phases in this thread's CPU ms (only with CMDCM_PHASE_CPU=1) */
  cpuMs?: { grad: number; publish: number; barrier: number; reduce: number };
}

export const DEFAULT_MODEL_MODULE = new URL('../model/index.js', import.meta.url).href;

/** Load the engine, then the model, in this thread/process. */
export async function buildModel(init: WorkerInit): Promise<Model> {
  const { useEngine } = await import('../engine/index.js');
  await useEngine(init.engine);
  const mod = (await import(init.model.module ?? DEFAULT_MODEL_MODULE)) as { createModel?: (c: unknown, s: Schema) => Model };
  if (typeof mod.createModel !== 'function') throw new Error(`model module ${init.model.module ?? DEFAULT_MODEL_MODULE} has no createModel export`);
  const model = mod.createModel(init.model.config, init.schema);
  if (model.layout.total !== init.layout.paramCount || model.dim !== init.layout.dim) {
    throw new Error(`worker ${init.w}: its model has ${model.layout.total} params × dim ${model.dim}, the coordinator's ${init.layout.paramCount} × ${init.layout.dim}`);
  }
  return model;
}

/**
 * A worker's part of every step: gradient of its micro-batch, publish, barrier, then the
 * reduce-scatter (sum its dense slice over workers, Adam on it) and the rows it owns (sum
 * contributions, lazy Adam / Adagrad once). The coordinator starts the next step only after every
 * worker reported, so no second barrier is needed.
 */
export class WorkerCore {
  readonly views: RegionViews;
  private readonly barrier: Barrier;
  private readonly slice: [number, number];
  private readonly reduce: ReduceKernels;
  private readonly rowState: RowState;
  /** this worker's dense-gradient and row-gradient slots in the shared region */
  private readonly gradSlot: Float32Array;
  private readonly rowGradSlot: Float32Array;
  private outRows = new Int32Array(0);
  private outGrad = new Float32Array(0);

  constructor(readonly init: WorkerInit, buffer: ArrayBufferLike, waiter: Waiter, private readonly model: Model) {
    const L = init.layout;
    this.views = viewsOf(buffer, L);
    this.barrier = new Barrier(this.views.ctrl, L.workers, waiter);
    this.slice = ownedSlice(L.paramCount, L.workers, init.w);
    // the kernels of the engine buildModel loaded (init.engine: 'auto' resolves to an engine with the
    // same kernels, see optimKernels)
    this.reduce = reduceKernels(optimKernels(init.engine));
    this.rowState = { table: this.views.table, m: this.views.tableM, v: L.tableOptimizer === 'lazyAdam' ? this.views.tableV : new Float32Array(0) };
    this.gradSlot = this.views.grads.subarray(init.w * L.paramCount, (init.w + 1) * L.paramCount);
    this.rowGradSlot = this.views.rowGrad.subarray(init.w * L.rowCap * L.dim, (init.w + 1) * L.rowCap * L.dim);
  }

  private injectFault(t: number): void {
    const f = this.init.fault;
    if (!f || f.worker !== this.init.w || f.step !== t) return;
    if (f.kind === 'throw') throw new Error(`injected fault (test) in worker ${f.worker} at step ${t}`);
    if (f.kind === 'exit') process.exit(3);
    process.kill(process.pid, f.kind === 'stop' ? 'SIGSTOP' : 'SIGKILL');
  }

  /**
   * Gradient-only workers (an MPI rank's threads, src/parallel/mpi): this worker's dense slice
   * summed over the workers into gradSum, and the rows it owns summed into rowSum at their row, both
   * in worker order (as the optimizing reduce sums them); the rank applies the optimizer after
   * reducing over the ranks.
   */
  private sumOnly(): void {
    const { w, layout: L } = this.init;
    const V = this.views, D = L.dim;
    const [a, b] = this.slice;
    if (b > a) sumSlice(V.grads, L.paramCount, L.workers, a, b, V.gradSum.subarray(a, b));
    let touched = 0;
    for (let u = 0; u < L.workers; u++) touched += V.rowCount[u];
    if (this.outRows.length < touched) {
      this.outRows = new Int32Array(touched);
      this.outGrad = new Float32Array(touched * D);
    }
    const n = combineOwnedRows(L.workers, w, V.rowCount, V.rowIdx, V.rowGrad, L.rowCap, D, this.outRows, this.outGrad);
    for (let k = 0; k < n; k++) V.rowSum.set(this.outGrad.subarray(k * D, (k + 1) * D), this.outRows[k] * D);
  }

  step(o: StepOrder): StepReport {
    const { w, layout: L } = this.init;
    const V = this.views, P = L.paramCount, D = L.dim;
    this.injectFault(o.t);
    const t0 = performance.now(), c0 = PHASE_CPU ? threadCpuMs() : 0;
    const [lo, hi] = microRange(o.n, L.workers, w);
    let g: GradResult;
    if (hi > lo) {
      // the model writes its gradients straight into this worker's shared slots
      g = this.model.grad(V.params, V.table, sliceBatch(V.batch, lo, hi, L.widths), (hi - lo) / (o.scaleN ?? o.n), { dense: this.gradSlot, rowGrad: this.rowGradSlot });
    } else {
      g = { loss: 0, terms: {}, denseGrad: this.gradSlot.fill(0), rows: new Int32Array(0), rowGrad: new Float32Array(0) };
    }
    const t1 = performance.now(), c1 = PHASE_CPU ? threadCpuMs() : 0;
    const bad = nonFiniteIn(g, this.reduce.firstNonFinite);
    if (bad) Atomics.add(V.ctrl, C_BAD, 1);
    if (g.denseGrad.length !== P) throw new Error(`worker ${w}: model returned ${g.denseGrad.length} dense gradients, expected ${P}`);
    if (g.rows.length > L.rowCap) throw new Error(`worker ${w}: micro-batch touched ${g.rows.length} rows, the shared row area holds ${L.rowCap}`);
    if (g.denseGrad !== this.gradSlot) this.gradSlot.set(g.denseGrad);
    V.rowIdx.set(g.rows, w * L.rowCap);
    if (g.rowGrad.buffer !== this.rowGradSlot.buffer || g.rowGrad.byteOffset !== this.rowGradSlot.byteOffset) {
      this.rowGradSlot.set(g.rowGrad.subarray(0, g.rows.length * D));
    }
    Atomics.store(V.rowCount, w, g.rows.length);
    const t2 = performance.now(), c2 = PHASE_CPU ? threadCpuMs() : 0;

    this.barrier.arrive();
    const t3 = performance.now(), c3 = PHASE_CPU ? threadCpuMs() : 0;

    if (Atomics.load(V.ctrl, C_BAD) === 0 && L.gradientOnly) {
      this.sumOnly();
    } else if (Atomics.load(V.ctrl, C_BAD) === 0) {
      const [a, b] = this.slice;
      if (b > a) this.reduce.denseAdam(V.grads, P, L.workers, a, b, V.params, V.m, V.v, { lr: o.lr, beta1: o.beta1, beta2: o.beta2, eps: o.eps, step: o.t });
      this.reduce.ownedRows(L.workers, w, V.rowCount, V.rowIdx, V.rowGrad, L.rowCap, D, this.rowState, L.tableOptimizer,
        { lr: o.tableLr, beta1: o.beta1, beta2: o.beta2, eps: o.eps, step: o.t });
    }
    const t4 = performance.now(), c4 = PHASE_CPU ? threadCpuMs() : 0;
    return {
      type: 'done', w, t: o.t, loss: g.loss, terms: g.terms, bad,
      ms: { grad: t1 - t0, publish: t2 - t1, barrier: t3 - t2, reduce: t4 - t3 },
      ...(PHASE_CPU ? { cpuMs: { grad: c1 - c0, publish: c2 - c1, barrier: c3 - c2, reduce: c4 - c3 } } : {}),
    };
  }
}
