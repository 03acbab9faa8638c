import * as tf from '@tensorflow/tfjs-core';
import type { Batch, Schema } from '../data/batch.js';
import type { Architecture, ForwardHooks } from './architecture.js';
import type { ModelConfig } from './config.js';
import { hostF32, peekF32 } from '../engine/host.js';
import { firstOrderGradients } from '../engine/tape.js';
import { gatherBatchRows } from './embedding.js';
import { selectColumns, seqMaskOf, transformDense, type InputInfo, type Inputs } from './inputs.js';
import { lossTerms, TERM_NAMES, type BatchLabels, type Heads, type TermName } from './losses.js';
import { initParams, LayoutBuilder, ParamView, specSize } from './params.js';
import { rateLogit, standardizeInPlace, type BaseRates } from './priors.js';
import { termsOf } from './config.js';
import { applyCalibration } from './calibration.js';
import type { GradOut, GradResult, Model, ModelName, ParamLayout, Predictions } from './types.js';

/**
 * Predictions are clamped to [1e-6, 1 − 1e-6]: float32 sigmoid rounds to exactly 0 or 1 beyond
 * |z| ≈ 17, and one such prediction would make an evaluation logloss infinite.
 */
export const P_MIN = 1e-6;

export interface GradOptions {
  /** multiplies the batch-mean loss (microBatch / globalBatch under the parallel trainer) */
  lossScale?: number;
  /** differentiate only these terms (all by default); `terms` still reports every term's value */
  only?: readonly TermName[];
  /** buffers for the results (types.ts GradOut) */
  out?: GradOut;
}

/**
 * A Model over any Architecture: host-side row gathering, one tfjs forward/backward pass per call
 * inside a tidy, gradients copied out to flat host arrays. Stateless between calls.
 */
export class NetModel implements Model {
  readonly name: ModelName;
  readonly dim: number;
  readonly layout: ParamLayout;
  /** the loss terms this model has, in a stable order */
  readonly termNames: TermName[];

  constructor(
    readonly config: ModelConfig,
    readonly schema: Schema,
    readonly info: InputInfo,
    private readonly arch: Architecture,
    readonly hooks: ForwardHooks = {},
  ) {
    this.name = config.name;
    this.dim = config.dim;
    const b = new LayoutBuilder();
    arch.declare(b);
    this.layout = b.build();
    this.termNames = this.probeTerms();
  }

  /**
   * Seeded initial parameters. With the train split's base rates, each task's output bias starts
   * at the logit of its rate (rare tasks would otherwise start at p = 0.5 and spend the first
   * steps only pulling the biases down); the draws of every other parameter are unchanged.
   */
  initParams(seed: number, priors?: BaseRates): Float32Array {
    const out = initParams(this.layout, seed);
    if (!priors) return out;
    const tower: Record<string, keyof BaseRates> = {
      'tower/direct/out/b': 'direct',
      'tower/atc/out/b': 'atc',
      'tower/transition/out/b': 'transition',
      'tower/noncart/out/b': 'noncart',
      'tower/delayed/out/b': 'delayed',
    };
    this.layout.specs.forEach((s, i) => {
      const task = tower[s.name];
      if (task && Number.isFinite(priors[task])) out[this.layout.offsets[i]] = rateLogit(priors[task]);
    });
    return out;
  }

  grad(params: Float32Array, table: Float32Array, batch: Batch, lossScale = 1, out?: GradOut): GradResult {
    return this.gradTerms(params, table, batch, { lossScale, out });
  }

  /** Gradient of a subset of the loss terms (the gradient checks use one term at a time). */
  gradTerms(params: Float32Array, table: Float32Array, batch: Batch, opts: GradOptions = {}): GradResult {
    const lossScale = opts.lossScale ?? 1;
    if (!(lossScale >= 0) || !Number.isFinite(lossScale)) throw new Error(`lossScale must be a finite number >= 0, got ${lossScale}`);
    const only = opts.only ?? this.termNames;
    for (const t of only) if (!this.termNames.includes(t)) throw new Error(`model ${this.name} has no loss term '${t}' (it has ${this.termNames.join(', ')})`);
    const out = opts.out?.dense;
    if (out && out.length !== this.layout.total) throw new Error(`the dense gradient buffer has ${out.length} values, the model's layout needs ${this.layout.total}`);
    if (batch.n === 0) {
      // A worker whose share of a short last global batch is empty contributes nothing.
      const zero = out ? out.fill(0) : new Float32Array(this.layout.total);
      return { loss: 0, terms: Object.fromEntries(this.termNames.map((t) => [t, 0])), denseGrad: zero, rows: new Int32Array(0), rowGrad: new Float32Array(0) };
    }
    const host = this.hostInputs(table, batch);
    const D = this.dim;
    const terms: Record<string, number> = {};
    let loss = 0;
    const denseGrad = out ?? new Float32Array(this.layout.total);
    const nRow = host.rows.length * D;
    const rowOut = opts.out?.rowGrad;
    const rowGrad = rowOut && rowOut.length >= nRow ? rowOut.subarray(0, nRow) : new Float32Array(nRow);
    tf.tidy(() => {
      const pv = new ParamView(this.layout, params);
      const rowsT = this.rowsTensor(host);
      // the terms are read back once, with the loss, after the backward pass: a read in the middle
      // of the forward pass would wait for the device (the cuda engine) once per term
      let termValues: tf.Tensor1D | undefined;
      const f = () => {
        const x = this.tensorInputs(host, rowsT);
        const t = lossTerms(this.arch.forward(pv, x, this.hooks), this.labels(batch), this.termOptions(), lossScale);
        let total: tf.Scalar = tf.scalar(0);
        for (const name of this.termNames) if (only.includes(name)) total = tf.add(total, t[name]!);
        termValues = tf.keep(tf.stack([total, ...this.termNames.map((name) => t[name]!)]) as tf.Tensor1D);
        return total;
      };
      const xs = [rowsT, ...pv.tensors];
      const { grads } = firstOrderGradients(() => tf.engine().gradients(f, xs, undefined, true));
      const read = termValues!.dataSync();
      termValues!.dispose();
      loss = read[0];
      this.termNames.forEach((name, i) => { terms[name] = read[i + 1]; });
      // peeked arrays are the backend's own and die with the tidy: copied out here
      // row 0 of the block is the padding row: its gradient is dropped
      if (grads[0]) rowGrad.set(peekF32(grads[0]).subarray(D));
      else rowGrad.fill(0);
      this.layout.offsets.forEach((off, i) => {
        const g = grads[i + 1];
        if (g) denseGrad.set(peekF32(g), off);
        else denseGrad.fill(0, off, off + specSize(this.layout.specs[i]));
      });
    });
    return { loss, terms, denseGrad, rows: host.rows, rowGrad };
  }

  /** Loss term values (weighted, scaled) without gradients, e.g. for validation logging. */
  lossTerms(params: Float32Array, table: Float32Array, batch: Batch, lossScale = 1): Record<string, number> {
    if (batch.n === 0) return Object.fromEntries(this.termNames.map((t) => [t, 0]));
    const host = this.hostInputs(table, batch);
    return tf.tidy(() => {
      const pv = new ParamView(this.layout, params);
      const x = this.tensorInputs(host, this.rowsTensor(host));
      const t = lossTerms(this.arch.forward(pv, x, this.hooks), this.labels(batch), this.termOptions(), lossScale);
      const out: Record<string, number> = {};
      for (const name of this.termNames) out[name] = t[name]!.dataSync()[0];
      return out;
    });
  }

  predict(params: Float32Array, table: Float32Array, batch: Batch): Predictions {
    if (batch.n === 0) return { direct: new Float32Array(0), atc: new Float32Array(0), transition: new Float32Array(0), delayed: new Float32Array(0) };
    const host = this.hostInputs(table, batch);
    const n = batch.n;
    return tf.tidy(() => {
      const pv = new ParamView(this.layout, params);
      const x = this.tensorInputs(host, this.rowsTensor(host));
      const h = this.arch.forward(pv, x, this.hooks);
      const prob = (z: tf.Tensor1D) => Float32Array.from(tf.clipByValue(tf.sigmoid(z), P_MIN, 1 - P_MIN).dataSync() as Float32Array);
      const direct = prob(h.direct);
      const atc = prob(h.atc);
      let transition: Float32Array, delayed: Float32Array;
      if (h.transition) {
        transition = prob(h.transition);
        delayed = new Float32Array(n);
        const nc = h.noncart ? prob(h.noncart) : null;
        for (let i = 0; i < n; i++) delayed[i] = atc[i] * transition[i] + (nc ? (1 - atc[i]) * nc[i] : 0);
      } else {
        delayed = prob(h.delayed!);
        transition = delayed.slice();
      }
      if (this.config.delayedCalibration) applyCalibration(this.config.delayedCalibration, delayed);
      return { direct, atc, transition, delayed };
    });
  }

  private termOptions() {
    const c = this.config;
    return { counterfactual: c.counterfactual, propensityFloor: c.propensityFloor, maxInverseWeight: c.maxInverseWeight, weights: c.lossWeights, hooks: this.hooks };
  }

  private probeTerms(): TermName[] {
    return termsOf(this.config);
  }

  /**
   * The batch's local embedding indices are written into two arrays this model reuses (they die
   * with the synchronous call that made them): fresh ones were ~1.6 MB of off-heap memory a step at
   * 2k samples, which V8 counts toward starting a full collection (`external memory pressure`).
   */
  private localBuffers: Int32Array[] = [new Int32Array(0), new Int32Array(0)];

  private localBuffer(k: number, n: number): Int32Array {
    if (this.localBuffers[k].length < n) this.localBuffers[k] = new Int32Array(Math.ceil(n * 1.25));
    return this.localBuffers[k].subarray(0, n);
  }

  private hostInputs(table: Float32Array, batch: Batch) {
    const n = batch.n;
    const F = this.info.fields, L = this.info.seqLen, S = this.info.denseDim, D = this.dim;
    if (batch.fields.length !== n * F || batch.seq.length !== n * L * 4 || batch.dense.length !== n * S || batch.labels.length !== n * 3 || batch.mask.length !== n * 3) {
      throw new Error(`batch of ${n} samples does not match the model's schema (fields ${F}, seqLen ${L}, dense ${S})`);
    }
    if (table.length !== this.schema.tableRows * D) throw new Error(`embedding table has ${table.length} values, schema needs ${this.schema.tableRows} × ${D}`);
    const g = gatherBatchRows(table, D, [batch.fields, batch.seq], { alloc: hostF32, padRow: true, localOut: [this.localBuffer(0, n * F), this.localBuffer(1, n * L * 4)] });
    let dense = S > 0 ? transformDense(batch.dense, this.config.denseTransform, hostF32) : null;
    // Before the train split's statistics are fit (the trainer fits them before the first step)
    // the features enter unscaled.
    if (dense && this.config.standardizeDense && this.config.denseStats) dense = standardizeInPlace(dense, S, this.config.denseStats);
    const mask = this.config.delayedDenseMask;
    let denseDelayed = dense;
    if (dense && mask) {
      denseDelayed = hostF32(dense.length);
      for (let i = 0; i < dense.length; i++) denseDelayed[i] = mask[i % S] ? dense[i] : 0;
    }
    return {
      denseDelayed,
      gateDenseDelayed: denseDelayed && denseDelayed !== dense ? selectColumns(denseDelayed, S, this.info.gateDenseCols, hostF32) : null,
      n,
      rows: g.rows,
      values: g.values,
      fieldIdx: g.local[0],
      seqIdx: g.local[1],
      seqMask: seqMaskOf(batch.seqLen, L, hostF32),
      dense,
      gateDense: dense ? selectColumns(dense, S, this.info.gateDenseCols, hostF32) : null,
    };
  }

  /** The gathered rows behind the padding row: local index i is row i. */
  private rowsTensor(h: ReturnType<NetModel['hostInputs']>): tf.Tensor2D {
    return tf.tensor2d(h.values, [h.rows.length + 1, this.dim]);
  }

  private tensorInputs(h: ReturnType<NetModel['hostInputs']>, rowsT: tf.Tensor2D): Inputs {
    const L = this.info.seqLen;
    const x: Inputs = {
      n: h.n,
      emb: rowsT,
      fieldIdx: h.fieldIdx,
      seqIdx: h.seqIdx,
      seqMask: tf.tensor2d(h.seqMask, [h.n, L]),
      dense: h.dense ? tf.tensor2d(h.dense, [h.n, this.info.denseDim]) : null,
      gateDense: h.gateDense ? tf.tensor2d(h.gateDense, [h.n, this.info.gateDenseCols.length]) : null,
      denseDelayed: null,
      gateDenseDelayed: null,
    };
    // the delayed path's copies, or the same tensors when no column is masked
    x.denseDelayed = h.denseDelayed && h.denseDelayed !== h.dense ? tf.tensor2d(h.denseDelayed, [h.n, this.info.denseDim]) : x.dense;
    x.gateDenseDelayed = h.gateDenseDelayed ? tf.tensor2d(h.gateDenseDelayed, [h.n, this.info.gateDenseCols.length]) : x.gateDense;
    return x;
  }

  private labels(batch: Batch): BatchLabels {
    const n = batch.n;
    const col = (a: Float32Array, j: number) => {
      const out = hostF32(n);
      for (let i = 0; i < n; i++) out[i] = a[i * 3 + j];
      return tf.tensor1d(out);
    };
    return {
      n,
      y: [col(batch.labels, 0), col(batch.labels, 1), col(batch.labels, 2)],
      m: [col(batch.mask, 0), col(batch.mask, 1), col(batch.mask, 2)],
    };
  }
}

export type { Heads };
