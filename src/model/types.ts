import type { Batch } from '../data/batch.js';

/** Model names accepted by `--model` (baselines and CM-DCM ablations run on the same pipeline). */
export const MODEL_NAMES = ['cmdcm', 'dnn', 'esmm', 'escm2-ipw', 'escm2-dr', 'mmoe', 'cmdcm-nogate', 'cmdcm-nocf', 'cmdcm-nodirect'] as const;
export type ModelName = (typeof MODEL_NAMES)[number];

export interface ParamSpec {
  name: string;
  shape: number[];
  init: 'glorot' | 'zeros' | 'ones' | 'normal';
}

/** Dense parameters as one flat Float32Array: spec i lives at [offsets[i], offsets[i] + size). */
export interface ParamLayout {
  specs: ParamSpec[];
  offsets: number[];
  total: number;
}

/**
 * Buffers a caller offers for a gradient's results, so a step allocates nothing big: a parallel
 * worker passes its shared-memory slots, the trainer buffers it reuses. A model may ignore them and
 * return arrays of its own; callers compare identity before copying.
 */
export interface GradOut {
  /** receives the dense gradient (layout.total values, overwritten); becomes `denseGrad` */
  dense?: Float32Array;
  /** when it holds rows × dim values, its front receives the row gradient; `rowGrad` is then a view of it */
  rowGrad?: Float32Array;
}

export interface GradResult {
  loss: number;
  /** each loss term's value (already weighted), e.g. direct, atc, ctcvr, cf */
  terms: Record<string, number>;
  /** flat, same layout as the params */
  denseGrad: Float32Array;
  /** unique touched table rows, ascending */
  rows: Int32Array;
  /** rows.length × dim */
  rowGrad: Float32Array;
}

/**
 * Per-sample probabilities. `transition` = P(delayed | click, do(atc)); `delayed` = atc · transition
 * (+ (1 − atc) · noncart for the CM-DCM family with nonCartPath).
 */
export interface Predictions {
  direct: Float32Array;
  atc: Float32Array;
  transition: Float32Array;
  delayed: Float32Array;
}

export interface Model {
  readonly name: ModelName;
  readonly dim: number;
  readonly layout: ParamLayout;
  /** seeded; with the train split's base rates the task output biases start at their logits */
  initParams(seed: number, priors?: BaseRates): Float32Array;
  /**
   * Loss and gradients of one (micro-)batch. `lossScale` multiplies the batch-mean loss (a worker
   * passes microBatch / globalBatch so workers' gradients sum to the global-batch gradient).
   * Pure: no I/O, no global state. `out` offers buffers for the results (see GradOut).
   */
  grad(params: Float32Array, table: Float32Array, batch: Batch, lossScale?: number, out?: GradOut): GradResult;
  predict(params: Float32Array, table: Float32Array, batch: Batch): Predictions;
}

/**
 * Train-split base rates the model's output biases start from (priors.ts computes them): masked
 * label means, plus P(delayed | atc) for the transition tower and P(delayed | no atc) for the
 * non-cart tower.
 */
export interface BaseRates {
  /** masked means of the labels */
  direct: number;
  atc: number;
  delayed: number;
  /** P(delayed | atc) on clicks with both labels available: the transition tower's base rate */
  transition: number;
  /** P(delayed | no atc): the non-cart tower's base rate */
  noncart: number;
}

/** The loss terms a model may have (losses.ts), in a stable order. */
export const TERM_NAMES = ['direct', 'atc', 'ctcvr', 'cf', 'imp', 'delayed'] as const;
export type TermName = (typeof TERM_NAMES)[number];

/** The predictions every model fills (Predictions), and so the tasks an evaluation reports. */
export const PREDICTED_TASKS = ['direct', 'atc', 'transition', 'delayed'] as const;
export type PredictedTask = (typeof PREDICTED_TASKS)[number];
