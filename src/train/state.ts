import type { Model } from '../model/types.js';
import type { BaseRates } from '../model/priors.js';
import type { Schema } from '../data/batch.js';
import type { TrainConfig } from './config.js';
import { Rng, type RngState } from '../util/rng.js';

/**
 * Everything a training run needs to continue exactly where it stopped. The step function mutates
 * it in place; checkpoints serialize all of it. Arrays may be replaced by SharedArrayBuffer-backed
 * copies (the parallel trainer does so in its `StepRunner.attach`).
 */
export interface TrainState {
  /** dense parameters (flat, model.layout) and their Adam moments */
  params: Float32Array;
  m: Float32Array;
  v: Float32Array;
  /** embedding table, tableRows × dim */
  table: Float32Array;
  /** lazy Adam: first/second moments (full tables); Adagrad: accumulator in tableM, tableV empty */
  tableM: Float32Array;
  tableV: Float32Array;
  /** optimizer steps done */
  step: number;
  /** current epoch (0-based) */
  epoch: number;
  /** batches of the current epoch already done (the data cursor) */
  cursor: number;
  /** RNG state before the current epoch's permutation was drawn: re-drawing it on resume gives the same order */
  epochRng: RngState;
  /** RNG state after it */
  rng: RngState;
  /** best validation logloss so far and at which step; null before the first validation */
  best: { metric: number; step: number } | null;
  /** validations since the best one (early stopping counter) */
  badValidations: number;
  /** why training ended; null while it can continue */
  finished: null | 'epochs' | 'early-stop' | 'max-steps';
}

/** Fresh state: model.initParams(seed, train-split base rates), table ~ N(0, tableInitStd²) from a seeded RNG, zero moments. */
export function initTrainState(model: Model, schema: Schema, cfg: TrainConfig, priors?: BaseRates): TrainState {
  const params = model.initParams(cfg.seed, priors);
  if (params.length !== model.layout.total) throw new Error(`model ${model.name}: initParams returned ${params.length} values, layout says ${model.layout.total}`);
  const dim = model.dim;
  const table = new Float32Array(schema.tableRows * dim);
  // the table's stream is separate from the shuffling stream so changing one never shifts the other
  const tr = new Rng((cfg.seed ^ 0x5bd1e995) >>> 0);
  const std = cfg.tableInitStd;
  for (let i = dim; i < table.length; i++) table[i] = std * tr.normal();
  const rng = new Rng(cfg.seed >>> 0).state();
  return {
    params,
    m: new Float32Array(params.length),
    v: new Float32Array(params.length),
    table,
    tableM: new Float32Array(table.length),
    tableV: cfg.tableOptimizer === 'lazyAdam' ? new Float32Array(table.length) : new Float32Array(0),
    step: 0,
    epoch: 0,
    cursor: 0,
    epochRng: rng,
    rng,
    best: null,
    badValidations: 0,
    finished: null,
  };
}

/** This epoch's sample order: a permutation of [0, n) drawn from `state.epochRng`. */
export function epochPermutation(state: TrainState, n: number): { order: Uint32Array; after: RngState } {
  const rng = new Rng(state.epochRng);
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  rng.shuffle(order);
  return { order, after: rng.state() };
}
