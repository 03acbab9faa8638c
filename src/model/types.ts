import type { Batch } from '../data/batch.js';
import type { BaseRates } from './priors.js';

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
   * Pure: no I/O, no global state. With `denseGradOut` (layout.total values) the dense gradient is
   * written there and returned as `denseGrad` (a worker passes its shared-memory slot; an
   * implementation may ignore it and return its own array).
   */
  grad(params: Float32Array, table: Float32Array, batch: Batch, lossScale?: number, denseGradOut?: Float32Array): GradResult;
  predict(params: Float32Array, table: Float32Array, batch: Batch): Predictions;
}
