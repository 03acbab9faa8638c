import type { Model, GradOut, GradResult } from '../model/types.js';
import type { Batch, Schema } from '../data/batch.js';
import type { ModelConfig } from '../model/config.js';
import { CmdcmError } from '../util/errors.js';
import { tsOptim, updateRows, type OptimKernels, type TableOptimizer } from '../engine/optim.js';
import type { TrainState } from './state.js';
import type { TrainConfig } from './config.js';

/** Per-step optimizer settings (the lr comes from the schedule). */
export interface StepHyper {
  lr: number;
  tableLr: number;
  beta1: number;
  beta2: number;
  eps: number;
  tableOptimizer: TableOptimizer;
}

export interface StepResult {
  step: number;
  loss: number;
  terms: Record<string, number>;
  samples: number;
}

export class NonFiniteLossError extends CmdcmError {
  constructor(readonly step: number, readonly term: string, readonly value: number) {
    super(`non-finite loss at step ${step}: ${term === 'loss' ? 'total loss' : `task/term '${term}'`} = ${value}; training stopped, the last good checkpoint is kept (try a lower --lr)`);
    this.name = 'NonFiniteLossError';
  }
}

export function stepHyper(cfg: TrainConfig, lr: number): StepHyper {
  return { lr, tableLr: lr * cfg.tableLrScale, beta1: cfg.beta1, beta2: cfg.beta2, eps: cfg.eps, tableOptimizer: cfg.tableOptimizer };
}

/**
 * Index of the first NaN or ±Inf in a, or -1. x·0 is 0 for finite x and NaN for ±Inf/NaN, so one
 * indexed sum decides whether to look at all: every step checks ~10⁶ gradient values, and a
 * `for…of` with Number.isFinite over them cost ~15–25 ms (the iterator protocol on typed arrays).
 */
export function firstNonFinite(a: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * 0;
  if (s === 0) return -1;
  for (let i = 0; i < a.length; i++) if (!Number.isFinite(a[i])) return i;
  return -1;
}

/**
 * The first non-finite value of a gradient result: its terms, then the total loss, the dense
 * gradient and the embedding gradient. `scan` finds an array's first NaN/Inf (a parallel worker
 * passes the addon's).
 */
export function nonFiniteIn(g: GradResult, scan: (a: Float32Array) => number = firstNonFinite): { term: string; value: number } | undefined {
  for (const [term, value] of Object.entries(g.terms)) if (!Number.isFinite(value)) return { term, value };
  if (!Number.isFinite(g.loss)) return { term: 'loss', value: g.loss };
  let i = scan(g.denseGrad);
  if (i >= 0) return { term: 'dense gradient', value: g.denseGrad[i] };
  i = scan(g.rowGrad);
  if (i >= 0) return { term: 'embedding gradient', value: g.rowGrad[i] };
  return undefined;
}

/** Throws NonFiniteLossError naming the first non-finite term (terms before the total). */
export function checkFinite(g: GradResult, step: number): void {
  const bad = nonFiniteIn(g);
  if (bad) throw new NonFiniteLossError(step, bad.term, bad.value);
}

/**
 * Apply one computed gradient to the state (Adam on the dense params, lazy Adam / Adagrad on the
 * touched rows) and advance the step counter. Split from `trainStep` so a parallel runner that
 * combines workers' gradients can reuse it. `k`: the engine's optimizer kernels
 * (`optimKernels(engine)` of src/engine/optim.ts; the TypeScript reference by default, same bits).
 */
export function applyGradients(state: TrainState, dim: number, g: GradResult, h: StepHyper, k: OptimKernels = tsOptim): void {
  const t = state.step + 1;
  k.adamDense(state.params, g.denseGrad, state.m, state.v, { lr: h.lr, beta1: h.beta1, beta2: h.beta2, eps: h.eps, step: t });
  if (g.rows.length > 0) {
    updateRows(k, h.tableOptimizer, { table: state.table, m: state.tableM, v: state.tableV }, dim, g.rows, g.rowGrad,
      { lr: h.tableLr, beta1: h.beta1, beta2: h.beta2, eps: h.eps, step: t });
  }
  state.step = t;
}

// Gradient buffers per parameter vector, reused every step instead of fresh arrays each.
const gradBuffers = new WeakMap<Float32Array, Required<GradOut>>();

function buffersFor(state: TrainState): Required<GradOut> {
  let b = gradBuffers.get(state.params);
  if (!b) gradBuffers.set(state.params, (b = { dense: new Float32Array(state.params.length), rowGrad: new Float32Array(0) }));
  return b;
}

/**
 * One optimizer step on one batch: gradients from the model, a finiteness check (the state is left
 * untouched when it fails), the optimizer update with the kernels `k`. No I/O, no global state
 * beyond the gradient buffers reused per parameter vector.
 */
export function trainStep(model: Model, state: TrainState, batch: Batch, h: StepHyper, k: OptimKernels = tsOptim): StepResult {
  const out = buffersFor(state);
  const g = model.grad(state.params, state.table, batch, 1, out);
  // the row buffer grows to the largest batch seen: next time the model writes into it
  if (g.rowGrad.buffer !== out.rowGrad.buffer && g.rowGrad.length > out.rowGrad.length) out.rowGrad = new Float32Array(Math.ceil(g.rowGrad.length * 1.25));
  const stepNo = state.step + 1;
  checkFinite(g, stepNo);
  applyGradients(state, model.dim, g, h, k);
  return { step: stepNo, loss: g.loss, terms: g.terms, samples: batch.n };
}

/**
 * How the trainer runs a step. The default runs `trainStep` in this thread; the parallel trainer
 * (src/parallel) supplies one that splits each global batch across workers. `attach` is called once
 * before the first step and may replace the state's arrays (e.g. with SharedArrayBuffer-backed
 * copies); `close` once at the end, on every exit path. The batch passed to `step` is valid only
 * until its promise settles: the trainer refills the same buffer for the next step.
 */
export interface StepRunner {
  attach?(state: TrainState): Promise<void> | void;
  step(state: TrainState, batch: Batch, h: StepHyper): Promise<StepResult> | StepResult;
  close?(): Promise<void> | void;
}

/** Steps in this thread, with the optimizer kernels `k` (the engine's: `optimKernels(engine)`). */
export function localStepRunner(model: Model, k: OptimKernels = tsOptim): StepRunner {
  return { step: (state, batch, h) => trainStep(model, state, batch, h, k) };
}

/** What the trainer's run hands the parallel trainer to build its StepRunner (`--workers N`). */
export interface ParallelRunnerOptions {
  workers: number;
  model: Model;
  modelConfig: ModelConfig;
  schema: Schema;
  engine: string;
  config: TrainConfig;
  transport?: 'thread' | 'process';
  gpus?: string[];
}
export type ParallelRunnerFactory = (o: ParallelRunnerOptions) => Promise<StepRunner>;
