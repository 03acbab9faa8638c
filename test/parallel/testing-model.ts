import type { Batch, Schema } from '../../src/data/batch.js';
import type { GradResult, Model, ParamLayout, Predictions } from '../../src/model/types.js';

/**
 * A TESTING model for the parallel trainer: one hidden layer over the sum of the target fields'
 * embeddings and the dense features, three sigmoid heads (direct, atc, delayed), masked BCE averaged
 * over the batch. Plain TypeScript math (no tfjs), exact gradients, deterministic: it lets the
 * parallel machinery be tested against the single-process step without depending on the real
 * CM-DCM model or an engine. Loaded in workers through `modelModule` like the real one.
 */
export interface TestingModelConfig {
  dim: number;
  hidden: number;
}

export function createModel(config: Partial<TestingModelConfig>, schema: Schema): Model {
  const D = config.dim ?? 8, H = config.hidden ?? 8, S = schema.dense.length, F = schema.fields.length, X = D + S;
  const layout: ParamLayout = {
    specs: [
      { name: 'w1', shape: [H, X], init: 'glorot' },
      { name: 'b1', shape: [H], init: 'zeros' },
      { name: 'w2', shape: [3, H], init: 'glorot' },
      { name: 'b2', shape: [3], init: 'zeros' },
    ],
    offsets: [0, H * X, H * X + H, H * X + H + 3 * H],
    total: H * X + H + 3 * H + 3,
  };
  const [oW1, oB1, oW2, oB2] = layout.offsets;

  function forward(params: Float32Array, table: Float32Array, b: Batch, i: number, x: Float64Array, h: Float64Array, z: Float64Array) {
    x.fill(0);
    for (let f = 0; f < F; f++) {
      const r = b.fields[i * F + f];
      if (r === 0) continue;
      for (let j = 0; j < D; j++) x[j] += table[r * D + j];
    }
    for (let s = 0; s < S; s++) x[D + s] = b.dense[i * S + s];
    for (let k = 0; k < H; k++) {
      let a = params[oB1 + k];
      for (let j = 0; j < X; j++) a += params[oW1 + k * X + j] * x[j];
      h[k] = Math.tanh(a);
    }
    for (let t = 0; t < 3; t++) {
      let a = params[oB2 + t];
      for (let k = 0; k < H; k++) a += params[oW2 + t * H + k] * h[k];
      z[t] = 1 / (1 + Math.exp(-a));
    }
  }

  return {
    name: 'dnn',
    dim: D,
    layout,
    initParams(seed: number): Float32Array {
      const p = new Float32Array(layout.total);
      let s = (seed * 2654435761) >>> 0 || 1;
      const u = () => ((s = (Math.imul(s ^ (s >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) >>> 0) / 4294967296) * 2 - 1;
      const g1 = Math.sqrt(6 / (H + X)), g2 = Math.sqrt(6 / (3 + H));
      for (let i = 0; i < H * X; i++) p[oW1 + i] = g1 * u();
      for (let i = 0; i < 3 * H; i++) p[oW2 + i] = g2 * u();
      return p;
    },
    grad(params: Float32Array, table: Float32Array, b: Batch, lossScale = 1): GradResult {
      const g = new Float64Array(layout.total);
      const x = new Float64Array(X), h = new Float64Array(H), z = new Float64Array(3), dh = new Float64Array(H), dx = new Float64Array(X);
      const rowAcc = new Map<number, Float64Array>();
      const scale = b.n > 0 ? lossScale / b.n : 0;
      const terms = [0, 0, 0];
      for (let i = 0; i < b.n; i++) {
        forward(params, table, b, i, x, h, z);
        dh.fill(0);
        for (let t = 0; t < 3; t++) {
          const m = b.mask[i * 3 + t];
          if (m === 0) continue;
          const y = b.labels[i * 3 + t], p = Math.min(Math.max(z[t], 1e-7), 1 - 1e-7);
          terms[t] -= scale * (y * Math.log(p) + (1 - y) * Math.log(1 - p));
          const dz = scale * (z[t] - y);
          g[oB2 + t] += dz;
          for (let k = 0; k < H; k++) {
            g[oW2 + t * H + k] += dz * h[k];
            dh[k] += dz * params[oW2 + t * H + k];
          }
        }
        dx.fill(0);
        for (let k = 0; k < H; k++) {
          const da = dh[k] * (1 - h[k] * h[k]);
          g[oB1 + k] += da;
          for (let j = 0; j < X; j++) {
            g[oW1 + k * X + j] += da * x[j];
            dx[j] += da * params[oW1 + k * X + j];
          }
        }
        for (let f = 0; f < F; f++) {
          const r = b.fields[i * F + f];
          if (r === 0) continue;
          let acc = rowAcc.get(r);
          if (!acc) rowAcc.set(r, (acc = new Float64Array(D)));
          for (let j = 0; j < D; j++) acc[j] += dx[j];
        }
      }
      const rows = Int32Array.from([...rowAcc.keys()].sort((a, c) => a - c));
      const rowGrad = new Float32Array(rows.length * D);
      rows.forEach((r, k) => rowGrad.set(rowAcc.get(r)!, k * D));
      const t = { direct: terms[0], atc: terms[1], delayed: terms[2] };
      return { loss: terms[0] + terms[1] + terms[2], terms: t, denseGrad: Float32Array.from(g), rows, rowGrad };
    },
    predict(params: Float32Array, table: Float32Array, b: Batch): Predictions {
      const out = { direct: new Float32Array(b.n), atc: new Float32Array(b.n), transition: new Float32Array(b.n), delayed: new Float32Array(b.n) };
      const x = new Float64Array(X), h = new Float64Array(H), z = new Float64Array(3);
      for (let i = 0; i < b.n; i++) {
        forward(params, table, b, i, x, h, z);
        out.direct[i] = z[0];
        out.atc[i] = z[1];
        out.delayed[i] = z[2];
        out.transition[i] = z[1] > 0 ? Math.min(1, z[2] / z[1]) : 0;
      }
      return out;
    },
  };
}
