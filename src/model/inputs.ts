import * as tf from '@tensorflow/tfjs-core';
import type { Schema } from '../data/batch.js';
import { CmdcmError } from '../util/errors.js';
import type { ModelConfig } from './config.js';
import { declareDin, dinPool, gatherRows, meanPool } from './layers.js';
import type { LayoutBuilder, ParamView } from './params.js';

/** Shapes every network derives from the schema and config. */
export interface InputInfo {
  dim: number;
  /** F target fields */
  fields: number;
  seqLen: number;
  /** S dense features */
  denseDim: number;
  /** column of the user field in Batch.fields (-1: none) */
  userField: number;
  itemField: number;
  categoryField: number;
  /** width of the embedding part: F field embeddings + the pooled sequence */
  embWidth: number;
  /** tower input width: embWidth + S */
  inputWidth: number;
  /** dense columns fed to the gates: the user statistics ('u_*'), or all when none is so named */
  gateDenseCols: number[];
}

export function inputInfo(cfg: ModelConfig, schema: Schema): InputInfo {
  const col = (name: string) => schema.fields.indexOf(name);
  const info: InputInfo = {
    dim: cfg.dim,
    fields: schema.fields.length,
    seqLen: schema.seqLen,
    denseDim: schema.dense.length,
    userField: col('user'),
    itemField: col('item'),
    categoryField: col('category'),
    embWidth: (schema.fields.length + 1) * cfg.dim,
    inputWidth: (schema.fields.length + 1) * cfg.dim + schema.dense.length,
    gateDenseCols: userStatColumns(schema.dense),
  };
  if (info.fields === 0) throw new CmdcmError('schema has no sparse fields: nothing to embed');
  if (cfg.seqPooling === 'din' && info.itemField < 0) throw new CmdcmError(`seqPooling 'din' needs an 'item' field as its query; the schema has ${schema.fields.join(', ')} (use seqPooling 'mean')`);
  if (cfg.gating && info.userField < 0) throw new CmdcmError(`gating needs a 'user' field; the schema has ${schema.fields.join(', ')} (set gating false)`);
  return info;
}

/**
 * The gates personalise by *user* behavior (DESIGN.md "Model"): they see the user statistics, named
 * 'u_…' by the sample builder, not the item or user×item ones. A schema without such names gives
 * the gates every dense column.
 */
export function userStatColumns(dense: string[]): number[] {
  const u = dense.flatMap((name, i) => (name.startsWith('u_') ? [i] : []));
  return u.length > 0 ? u : dense.map((_, i) => i);
}

/** One batch as tensors: ids are local indices into `emb` (row 0 = the zero padding row). */
export interface Inputs {
  n: number;
  /** (1 + |U|) × dim: the zero padding row, then the gathered rows (the differentiated tensor) */
  emb: tf.Tensor2D;
  /** N·F local indices (host: the gather's gradient runs on the host on the 'cpu' backend) */
  fieldIdx: Int32Array;
  /** N·L·4 local indices */
  seqIdx: Int32Array;
  /** N × L, 1 on the valid (left-aligned) history events */
  seqMask: tf.Tensor2D;
  /** N × S, transformed; null when the schema has no dense features */
  dense: tf.Tensor2D | null;
  /** N × gateDenseCols.length, the gates' dense input; null without dense features */
  gateDense: tf.Tensor2D | null;
  /**
   * The same for the delayed path (transition / non-cart towers, dnn, mmoe): with
   * ModelConfig.delayedDenseMask the columns constant on the rows with a delayed label are zero
   * here; otherwise the very tensors above
   */
  denseDelayed: tf.Tensor2D | null;
  gateDenseDelayed: tf.Tensor2D | null;
}

/**
 * Where the host-side input arrays come from: fresh by default; the model passes the engine's
 * `hostF32` so that arrays which become tensors are recycled (their contents are then stale, so
 * every function here writes every element).
 */
export type HostAlloc = (n: number) => Float32Array;
const fresh: HostAlloc = (n) => new Float32Array(n);

/** Dense statistics are raw counts: sign·log1p keeps a heavy user from saturating the first layer. */
export function transformDense(d: Float32Array, how: ModelConfig['denseTransform'], alloc: HostAlloc = fresh): Float32Array {
  const out = alloc(d.length);
  if (how === 'none') {
    out.set(d);
    return out;
  }
  for (let i = 0; i < d.length; i++) {
    const v = d[i];
    out[i] = Number.isFinite(v) ? Math.sign(v) * Math.log1p(Math.abs(v)) : 0;
  }
  return out;
}

export function selectColumns(d: Float32Array, width: number, cols: number[], alloc: HostAlloc = fresh): Float32Array {
  const n = d.length / width;
  const out = alloc(n * cols.length);
  for (let i = 0; i < n; i++) for (let j = 0; j < cols.length; j++) out[i * cols.length + j] = d[i * width + cols[j]];
  return out;
}

export function seqMaskOf(seqLen: Int32Array, L: number, alloc: HostAlloc = fresh): Float32Array {
  const m = alloc(seqLen.length * L).fill(0);
  for (let i = 0; i < seqLen.length; i++) m.fill(1, i * L, i * L + Math.min(Math.max(seqLen[i], 0), L));
  return m;
}

export function declareInputs(b: LayoutBuilder, cfg: ModelConfig, info: InputInfo): void {
  if (cfg.seqPooling === 'din') declareDin(b, 'din', info.dim, cfg.attentionUnits);
}

export interface Embedded {
  /** N × embWidth: field embeddings then the pooled history */
  emb: tf.Tensor2D;
  /** N × dim (zeros when the schema has no user field) */
  user: tf.Tensor2D;
  dense: tf.Tensor2D | null;
  gateDense: tf.Tensor2D | null;
  denseDelayed: tf.Tensor2D | null;
  gateDenseDelayed: tf.Tensor2D | null;
}

export function embedInputs(p: ParamView, x: Inputs, cfg: ModelConfig, info: InputInfo): Embedded {
  const { n } = x;
  const D = info.dim, F = info.fields, L = info.seqLen;
  const fe = tf.reshape(gatherRows(x.emb, x.fieldIdx), [n, F, D]) as tf.Tensor3D;
  // One field's column as its own gather: tfjs's CPU Slice/SplitV of a strided column copy element
  // by element and cost more than the whole lookup.
  const col = (c: number) => {
    const idx = new Int32Array(n);
    for (let i = 0; i < n; i++) idx[i] = x.fieldIdx[i * F + c];
    return gatherRows(x.emb, idx);
  };
  let pooled: tf.Tensor2D;
  if (L === 0) {
    pooled = tf.zeros([n, D]);
  } else {
    // Tokens of one event (item, category, behavior, gap) sum into one event embedding.
    const ev = tf.sum(tf.reshape(gatherRows(x.emb, x.seqIdx), [n, L, 4, D]), 2) as tf.Tensor3D;
    if (cfg.seqPooling === 'din') {
      const q = info.categoryField >= 0 ? tf.add(col(info.itemField), col(info.categoryField)) : col(info.itemField);
      pooled = dinPool(q as tf.Tensor2D, ev, x.seqMask, p, 'din', cfg.attentionUnits.length);
    } else {
      pooled = meanPool(ev, x.seqMask);
    }
  }
  const emb = tf.concat([tf.reshape(fe, [n, F * D]), pooled], 1) as tf.Tensor2D;
  const user = info.userField >= 0 ? col(info.userField) : (tf.zeros([n, D]) as tf.Tensor2D);
  return { emb, user, dense: x.dense, gateDense: x.gateDense, denseDelayed: x.denseDelayed, gateDenseDelayed: x.gateDenseDelayed };
}

export function withDense(emb: tf.Tensor2D, dense: tf.Tensor2D | null): tf.Tensor2D {
  return dense ? (tf.concat([emb, dense], 1) as tf.Tensor2D) : emb;
}
