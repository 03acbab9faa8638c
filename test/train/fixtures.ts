/**
 * Test fixtures for the trainer: synthetic SampleColumns and a tiny logistic model implementing the
 * Model interface in plain JS (analytic gradients), so trainer tests do not depend on tfjs or the
 * real models and run in milliseconds.
 */
import { allocColumns, type SampleColumns, type Schema } from '../../src/data/batch.js';
import type { GradResult, Model, ModelName, ParamLayout, Predictions } from '../../src/model/types.js';
import { Rng } from '../../src/util/rng.js';
import type { Dataset, DatasetMeta, Split } from '../../src/data/dataset.js';
import type { LogFormat } from '../../src/data/types.js';

export function tinySchema(tableRows = 64): Schema {
  return {
    fields: ['user', 'item'],
    seqLen: 2,
    seqTokens: ['item', 'category', 'behavior', 'gap'],
    dense: ['d0', 'd1'],
    hash: [
      { name: 'user', offset: 1, size: 20 },
      { name: 'item', offset: 21, size: tableRows - 41 },
      { name: 'behavior', offset: tableRows - 20, size: 4 },
      { name: 'gap', offset: tableRows - 16, size: 16 },
    ],
    tableRows,
  };
}

/** n samples whose labels follow a hidden logistic rule on the item row and the dense features. */
export function synthColumns(schema: Schema, n: number, seed: number, opts: { delayedMasked?: boolean; invert?: boolean } = {}): SampleColumns {
  const c = allocColumns(schema, n);
  const r = new Rng(seed);
  const [u, it, beh, gap] = schema.hash;
  for (let i = 0; i < n; i++) {
    const user = r.int(u.size);
    const item = r.int(it.size);
    c.fields[i * 2] = u.offset + user;
    c.fields[i * 2 + 1] = it.offset + item;
    c.dense[i * 2] = r.normal();
    c.dense[i * 2 + 1] = r.normal();
    const score = (item % 3) - 1 + 0.8 * c.dense[i * 2];
    const pa = 1 / (1 + Math.exp(-(score - 1)));
    const atc = r.next() < pa ? 1 : 0;
    const del = atc && r.next() < 0.6 + 0.3 * Math.tanh(c.dense[i * 2 + 1]) ? 1 : 0;
    const dir = r.next() < 0.05 + 0.1 * atc ? 1 : 0;
    const flip = (y: number) => (opts.invert ? 1 - y : y);
    c.labels.set([flip(dir), flip(atc), flip(del)], i * 3);
    c.mask.set([1, 1, opts.delayedMasked && i % 2 === 0 ? 0 : 1], i * 3);
    c.user[i] = user;
    c.item[i] = item;
    c.time[i] = 1_417_000_000 + i * 60;
    c.daysToPromo[i] = 1 + (i % 3);
    const len = r.int(schema.seqLen + 1);
    c.seqLen[i] = len;
    for (let e = 0; e < len; e++) {
      const o = (i * schema.seqLen + e) * 4;
      const hi = it.offset + r.int(it.size);
      c.seq[o] = hi;
      c.seq[o + 1] = hi;
      c.seq[o + 2] = beh.offset + r.int(beh.size);
      c.seq[o + 3] = gap.offset + r.int(gap.size);
    }
  }
  return c;
}

const sig = (z: number) => 1 / (1 + Math.exp(-z));
const HEADS = ['direct', 'atc', 'delayed'] as const;

/**
 * Three logistic heads on x = [mean of the field embeddings (dim), dense (2)]: direct, atc, delayed;
 * transition = delayed / atc. Loss = Σ_task masked mean BCE. `nanAtCall` makes the k-th grad call
 * (1-based) report a NaN 'atc' term.
 */
export function tinyModel(schema: Schema, dim = 4, opts: { nanAtCall?: number; name?: ModelName } = {}): Model & { calls: number } {
  const D = dim + schema.dense.length;
  const layout: ParamLayout = {
    specs: [
      { name: 'w', shape: [3, D], init: 'normal' },
      { name: 'b', shape: [3], init: 'zeros' },
    ],
    offsets: [0, 3 * D],
    total: 3 * D + 3,
  };
  const F = schema.fields.length, S = schema.dense.length;
  const features = (table: Float32Array, b: SampleColumns, i: number, x: Float64Array) => {
    x.fill(0);
    for (let f = 0; f < F; f++) {
      const row = b.fields[i * F + f];
      for (let j = 0; j < dim; j++) x[j] += table[row * dim + j] / F;
    }
    for (let s = 0; s < S; s++) x[dim + s] = b.dense[i * S + s];
  };
  const logits = (params: Float32Array, x: Float64Array, z: Float64Array) => {
    for (let h = 0; h < 3; h++) {
      let s = params[3 * D + h];
      for (let j = 0; j < D; j++) s += params[h * D + j] * x[j];
      z[h] = s;
    }
  };
  const model = {
    name: opts.name ?? ('dnn' as ModelName),
    dim,
    layout,
    calls: 0,
    initParams(seed: number): Float32Array {
      const r = new Rng(seed);
      const p = new Float32Array(layout.total);
      for (let i = 0; i < 3 * D; i++) p[i] = 0.1 * r.normal();
      return p;
    },
    grad(params: Float32Array, table: Float32Array, b: SampleColumns, lossScale = 1): GradResult {
      model.calls++;
      const dg = new Float64Array(layout.total);
      const rowAcc = new Map<number, Float64Array>();
      const x = new Float64Array(D), z = new Float64Array(3);
      const termSums = [0, 0, 0];
      for (let i = 0; i < b.n; i++) {
        features(table, b, i, x);
        logits(params, x, z);
        const dx = new Float64Array(D);
        for (let h = 0; h < 3; h++) {
          if (b.mask[i * 3 + h] === 0) continue;
          const y = b.labels[i * 3 + h], p = sig(z[h]);
          termSums[h] -= y * Math.log(Math.max(p, 1e-12)) + (1 - y) * Math.log(Math.max(1 - p, 1e-12));
          const dz = (p - y) * lossScale / b.n;
          for (let j = 0; j < D; j++) {
            dg[h * D + j] += dz * x[j];
            dx[j] += dz * params[h * D + j];
          }
          dg[3 * D + h] += dz;
        }
        for (let f = 0; f < F; f++) {
          const row = b.fields[i * F + f];
          let acc = rowAcc.get(row);
          if (!acc) rowAcc.set(row, (acc = new Float64Array(dim)));
          for (let j = 0; j < dim; j++) acc[j] += dx[j] / F;
        }
      }
      const rows = Int32Array.from([...rowAcc.keys()].sort((a, c) => a - c));
      const rowGrad = new Float32Array(rows.length * dim);
      rows.forEach((r, k) => rowGrad.set(rowAcc.get(r)!, k * dim));
      const terms: Record<string, number> = {};
      HEADS.forEach((h, k) => (terms[h] = (termSums[k] / b.n) * lossScale));
      if (opts.nanAtCall !== undefined && model.calls === opts.nanAtCall) terms.atc = NaN;
      const loss = terms.direct + terms.atc + terms.delayed;
      return { loss, terms, denseGrad: Float32Array.from(dg), rows, rowGrad };
    },
    predict(params: Float32Array, table: Float32Array, b: SampleColumns): Predictions {
      const out: Predictions = { direct: new Float32Array(b.n), atc: new Float32Array(b.n), transition: new Float32Array(b.n), delayed: new Float32Array(b.n) };
      const x = new Float64Array(D), z = new Float64Array(3);
      for (let i = 0; i < b.n; i++) {
        features(table, b, i, x);
        logits(params, x, z);
        out.direct[i] = sig(z[0]);
        out.atc[i] = sig(z[1]);
        out.delayed[i] = sig(z[2]);
        out.transition[i] = Math.min(1, sig(z[2]) / sig(z[1]));
      }
      return out;
    },
  };
  return model;
}

/** An in-memory Dataset over synthetic splits (the Dataset interface of src/data/dataset.ts). */
export function memDataset(schema: Schema, splits: { train: SampleColumns; valid: SampleColumns; test: SampleColumns }, opts: { dir?: string; timeFormat?: LogFormat } = {}): Dataset {
  const users = Array.from({ length: 20 }, (_, k) => `u${1000 + k}`);
  const items = Array.from({ length: schema.tableRows }, (_, k) => `it${k * 7}`);
  const meta: DatasetMeta = {
    formatVersion: 3,
    createdAt: 'test',
    sources: [],
    resolution: 'hour',
    promotions: [{ date: '2014-11-11', day: 16385, preDays: 10 }, { date: '2014-12-12', day: 16416, preDays: 10 }],
    target: 1,
    targetOutcomeKnown: true,
    asOf: (16416 - 3) * 86400,
    asOfText: '2014-12-09 00:00',
    labelHorizons: { atc: 24, direct: 24 },
    validDays: 2,
    schema,
    counts: { events: 0, users: 20, items: items.length, samples: 0, perSplit: { train: splits.train.n, valid: splits.valid.n, test: splits.test.n }, perBehavior: {} },
    timeFormat: opts.timeFormat ?? 'tianchi2014',
    badRows: {},
    shards: [],
  };
  return {
    dir: opts.dir ?? 'mem://dataset',
    meta,
    schema,
    load: async (split: Split) => splits[split],
    vocab: async () => ({ users, items }),
  };
}

/** A small real-model config (tiny towers) so real-model tests stay fast. */
export const SMALL_MODEL = { dim: 4, towerUnits: [8], attentionUnits: [4], gateUnits: 4, expertUnits: [8], experts: 2 };
