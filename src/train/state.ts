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
/**
 * `opts.table: false` leaves the table and its moments empty: the MPI ranks each initialise only the
 * rows they own (`initTableRows`).
 */
export function initTrainState(model: Model, schema: Schema, cfg: TrainConfig, priors?: BaseRates, opts: { table?: boolean } = {}): TrainState {
  const params = model.initParams(cfg.seed, priors);
  if (params.length !== model.layout.total) throw new Error(`model ${model.name}: initParams returned ${params.length} values, layout says ${model.layout.total}`);
  const dim = model.dim;
  const withTable = opts.table ?? true;
  const table = withTable ? new Float32Array(schema.tableRows * dim) : new Float32Array(0);
  if (withTable) initTableRows(cfg, schema.tableRows, dim, 1, 0, table);
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

/**
 * The fresh table's rows that rank u of N owns (global row g, g mod N = u, at local row g div N of
 * `out`), with the values the whole table gets: one seeded stream over the whole table, row after
 * row, each rank keeping its own rows. A rank draws every value (time O(table)) but stores only its
 * rows (memory O(table / N)). Row 0 (padding) stays zero.
 */
export function initTableRows(cfg: Pick<TrainConfig, 'seed' | 'tableInitStd'>, rows: number, dim: number, N: number, u: number, out: Float32Array): void {
  // the table's stream is separate from the shuffling stream so changing one never shifts the other
  const tr = new Rng((cfg.seed ^ 0x5bd1e995) >>> 0);
  const std = cfg.tableInitStd;
  for (let g = 1; g < rows; g++) {
    if (g % N === u) {
      const at = Math.floor(g / N) * dim;
      for (let d = 0; d < dim; d++) out[at + d] = std * tr.normal();
    } else {
      for (let d = 0; d < dim; d++) tr.normal();
    }
  }
}

/** This epoch's sample order: a permutation of [0, n) drawn from `state.epochRng`. */
export function epochPermutation(state: TrainState, n: number): { order: Uint32Array; after: RngState } {
  const rng = new Rng(state.epochRng);
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  rng.shuffle(order);
  return { order, after: rng.state() };
}
