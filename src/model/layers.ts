import * as tf from '@tensorflow/tfjs-core';
import type { LayoutBuilder, ParamView } from './params.js';

/**
 * Building blocks over a ParamView: each `declareX` adds the parameters of a block under a name
 * prefix, and the matching function applies it. Declaration and application must agree on the
 * prefix; the layout is then stable across runs (checkpoints store the flat vector).
 */

/**
 * tfjs has no stop_gradient op: an identity whose gradient is zero. The zero flows back through the
 * producing subgraph, so everything upstream of it receives an exact 0 from this path.
 */
export function stopGradient<T extends tf.Tensor>(x: T): T {
  const f = tf.customGrad(((a: tf.Tensor) => ({ value: a.clone(), gradFunc: (dy: tf.Tensor) => tf.zerosLike(dy) })) as never);
  return f(x) as T;
}

/**
 * Embedding lookup `emb[idx]` (idx given on the host). Its gradient is a segment sum of dy into
 * emb's rows. tfjs's pure-JS 'cpu' kernel for that (UnsortedSegmentSum) runs one masked pass over
 * all of dy per row, O(rows × ids × dim), which made a tiny test step 100× slower than its forward;
 * on that backend we scatter-add on the host instead, O(ids × dim). Every other engine (native
 * addon, tensorflow) gets the op and its own kernel.
 */
export function gatherRows(emb: tf.Tensor2D, idx: Int32Array): tf.Tensor2D {
  const rows = emb.shape[0], d = emb.shape[1];
  const f = tf.customGrad(((e: tf.Tensor2D, save: (ts: tf.Tensor[]) => void) => {
    const idxT = tf.tensor1d(idx, 'int32');
    // kept for the gradient (saved, not closed over: a closed-over intermediate is disposed before
    // the backward pass), so the indices reach the backend once a step, not twice
    save([idxT]);
    return {
      value: tf.gather(e, idxT),
      gradFunc: (dy: tf.Tensor2D, saved: tf.Tensor[]) => {
        if (tf.getBackend() !== 'cpu') return tf.unsortedSegmentSum(dy, saved[0] as tf.Tensor1D, rows);
        const g = dy.dataSync() as Float32Array;
        const out = new Float32Array(rows * d);
        for (let i = 0; i < idx.length; i++) {
          const o = idx[i] * d, s = i * d;
          for (let j = 0; j < d; j++) out[o + j] += g[s + j];
        }
        return tf.tensor2d(out, [rows, d]);
      },
    };
  }) as never);
  return f(emb) as tf.Tensor2D;
}

export function declareDense(b: LayoutBuilder, prefix: string, inDim: number, outDim: number): void {
  b.add(`${prefix}/w`, [inDim, outDim], 'glorot');
  b.add(`${prefix}/b`, [outDim], 'zeros');
}

export function dense(x: tf.Tensor2D, p: ParamView, prefix: string, activation: 'relu' | 'linear'): tf.Tensor2D {
  return tf.fused.matMul({ a: x, b: p.get(`${prefix}/w`), bias: p.get<tf.Tensor1D>(`${prefix}/b`), activation }) as tf.Tensor2D;
}

/** ReLU hidden layers `${prefix}/${i}`; returns the output width. */
export function declareMlp(b: LayoutBuilder, prefix: string, inDim: number, units: number[]): number {
  let d = inDim;
  units.forEach((u, i) => {
    declareDense(b, `${prefix}/${i}`, d, u);
    d = u;
  });
  return d;
}

/** ReLU hidden layers; `gates[i]` (N × units[i]), when given, scales hidden layer i's output. */
export function mlp(x: tf.Tensor2D, p: ParamView, prefix: string, nLayers: number, gates?: tf.Tensor2D[]): tf.Tensor2D {
  let h = x;
  for (let i = 0; i < nLayers; i++) {
    h = dense(h, p, `${prefix}/${i}`, 'relu');
    if (gates) h = tf.mul(h, gates[i]);
  }
  return h;
}

/** A tower: ReLU hidden layers then one logit per sample. */
export function declareTower(b: LayoutBuilder, prefix: string, inDim: number, units: number[]): void {
  const d = declareMlp(b, prefix, inDim, units);
  declareDense(b, `${prefix}/out`, d, 1);
}

export function towerLogit(x: tf.Tensor2D, p: ParamView, prefix: string, nLayers: number, gates?: tf.Tensor2D[]): tf.Tensor1D {
  const h = mlp(x, p, prefix, nLayers, gates);
  return tf.reshape(dense(h, p, `${prefix}/out`, 'linear'), [-1]) as tf.Tensor1D;
}

/** PEPNet gate: Linear → ReLU → Linear → 2·sigmoid, so a neutral gate is 1. */
export function declareGate(b: LayoutBuilder, prefix: string, inDim: number, hidden: number, outDim: number): void {
  declareDense(b, `${prefix}/0`, inDim, hidden);
  declareDense(b, `${prefix}/1`, hidden, outDim);
}

export function gate(x: tf.Tensor2D, p: ParamView, prefix: string): tf.Tensor2D {
  const h = dense(x, p, `${prefix}/0`, 'relu');
  return tf.mul(2, tf.sigmoid(dense(h, p, `${prefix}/1`, 'linear')));
}

/** DIN attention unit: MLP over [q, k, q−k, q⊙k] → one score per history event. */
export function declareDin(b: LayoutBuilder, prefix: string, dim: number, units: number[]): void {
  declareTower(b, prefix, 4 * dim, units);
}

/**
 * DIN target attention: softmax over the valid events of each sample (mask N × L), weighted sum of
 * the event embeddings. A sample without history pools to zeros.
 *
 * The first attention layer on [q, k, q−k, q⊙k] is computed as q·(W_q + W_d) + k·(W_k − W_d) +
 * (q⊙k)·W_p with W's four row blocks: the same function and parameters, but the query part is
 * computed once per sample instead of once per event, and no N × L × 4·dim tensor is built.
 */
export function dinPool(q: tf.Tensor2D, keys: tf.Tensor3D, mask: tf.Tensor2D, p: ParamView, prefix: string, nLayers: number): tf.Tensor2D {
  const [n, l, d] = keys.shape;
  const w = p.get(`${prefix}/0/w`);
  const h = w.shape[1];
  const [wq, wk, wd, wp] = tf.split(w, 4, 0) as tf.Tensor2D[];
  const kFlat = tf.reshape(keys, [n * l, d]) as tf.Tensor2D;
  const qk = tf.reshape(tf.mul(keys, tf.reshape(q, [n, 1, d])), [n * l, d]) as tf.Tensor2D;
  const perEvent = tf.add(tf.matMul(kFlat, tf.sub(wk, wd)), tf.matMul(qk, wp));
  const perSample = tf.add(tf.matMul(q, tf.add(wq, wd)), p.get(`${prefix}/0/b`));
  let a = tf.relu(tf.add(tf.reshape(perEvent, [n, l, h]), tf.reshape(perSample, [n, 1, h]))) as tf.Tensor;
  a = tf.reshape(a, [n * l, h]);
  for (let i = 1; i < nLayers; i++) a = dense(a as tf.Tensor2D, p, `${prefix}/${i}`, 'relu');
  const scores = tf.reshape(dense(a as tf.Tensor2D, p, `${prefix}/out`, 'linear'), [n, l]);
  // −1e9 on padding drives its softmax weight to exactly 0; the final mask zeroes empty histories.
  const att = tf.mul(tf.softmax(tf.add(scores, tf.mul(tf.sub(mask, 1), 1e9))), mask);
  return tf.sum(tf.mul(keys, tf.expandDims(att, 2)), 1) as tf.Tensor2D;
}

/** Masked mean over the valid events (zeros without history). */
export function meanPool(keys: tf.Tensor3D, mask: tf.Tensor2D): tf.Tensor2D {
  const s = tf.sum(tf.mul(keys, tf.expandDims(mask, 2)), 1);
  const cnt = tf.maximum(tf.sum(mask, 1, true), 1);
  return tf.div(s, cnt) as tf.Tensor2D;
}

/**
 * Intercept-only prior for a task a model does not learn from features: logit = PRIOR_SCALE · b.
 * Adam moves a parameter by about lr per step, and a rare event's logit (≈ −4 for 2%) is far from
 * 0; the scale lets the prior reach it within tens of steps rather than thousands, and b starts at
 * PRIOR_INIT (logit −3, p ≈ 0.05: every task here is rare) instead of p = 0.5.
 */
export const PRIOR_SCALE = 10;
export const PRIOR_INIT = -0.3;

export function declarePrior(b: LayoutBuilder, name: string): void {
  b.add(name, [1], 'zeros');
}

export function priorLogit(p: ParamView, name: string, n: number): tf.Tensor1D {
  return tf.broadcastTo(tf.mul(tf.add(p.get<tf.Tensor1D>(name), PRIOR_INIT), PRIOR_SCALE), [n]) as tf.Tensor1D;
}
