import * as tf from '@tensorflow/tfjs';
import { allocColumns, type Batch, type Schema } from '../../src/data/batch.js';
import { defaultModelConfig, type ModelConfig } from '../../src/model/index.js';
import type { ModelName } from '../../src/model/types.js';

/** Shared fixtures of the model tests: a tiny schema, tiny configs, seeded synthetic batches. */

export async function cpuBackend(): Promise<void> {
  process.env.CMDCM_LOG_LEVEL = 'silent';
  await tf.setBackend('cpu');
  await tf.ready();
}

const RANGES: [string, number][] = [
  ['user', 6],
  ['item', 10],
  ['category', 4],
  ['days', 3],
  ['hour', 4],
  ['behavior', 4],
  ['gap', 4],
];

export function tinySchema(seqLen = 3): Schema {
  let off = 1; // row 0 = padding
  const hash = RANGES.map(([name, size]) => {
    const h = { name, offset: off, size };
    off += size;
    return h;
  });
  return {
    fields: ['user', 'item', 'category', 'days', 'hour'],
    seqLen,
    seqTokens: ['item', 'category', 'behavior', 'gap'],
    dense: ['u_win_click', 'i_cart_rate'],
    hash,
    tableRows: off,
  };
}

export function tinyConfig(name: ModelName, over: Partial<ModelConfig> = {}): ModelConfig {
  // every gate path on (the embedding gate and the user embedding as a gate input), so the gradient
  // and stop-gradient checks cover them; the default's lighter gates have their own cases
  return { ...defaultModelConfig(name), dim: 4, towerUnits: [8, 4], attentionUnits: [4], gateUnits: 5, experts: 2, expertUnits: [6], gateEmbedding: true, gateUserEmbedding: true, ...over };
}

export function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
}

function bucket(schema: Schema, field: string, v: number): number {
  const h = schema.hash.find((x) => x.name === field)!;
  return h.offset + (v % h.size);
}

/**
 * n random samples whose labels follow their item (atc), user (delayed) and hour (direct), so a
 * model can separate them; all masks 1 unless `maskDelayedEvery` masks every k-th delayed label.
 */
export function syntheticBatch(schema: Schema, n: number, seed: number, opts: { maskDelayedEvery?: number } = {}): Batch {
  const r = lcg(seed);
  const b = allocColumns(schema, n);
  const L = schema.seqLen;
  for (let i = 0; i < n; i++) {
    const u = Math.floor(r() * 6), it = Math.floor(r() * 10), hr = Math.floor(r() * 4), d = Math.floor(r() * 3);
    b.fields.set([bucket(schema, 'user', u), bucket(schema, 'item', it), bucket(schema, 'category', it % 4), bucket(schema, 'days', d), bucket(schema, 'hour', hr)], i * 5);
    const len = Math.floor(r() * (L + 1));
    b.seqLen[i] = len;
    for (let k = 0; k < len; k++) {
      const hi = Math.floor(r() * 10);
      b.seq.set([bucket(schema, 'item', hi), bucket(schema, 'category', hi % 4), bucket(schema, 'behavior', Math.floor(r() * 4)), bucket(schema, 'gap', Math.floor(r() * 4))], (i * L + k) * 4);
    }
    // As the sample builder writes them: log1p-scaled counts and rates.
    b.dense[i * 2] = Math.log1p(Math.floor(r() * 20));
    b.dense[i * 2 + 1] = r() * 0.3;
    const atc = it < 5 ? 1 : 0;
    const delayed = atc && u < 3 ? 1 : 0;
    const direct = hr === 0 ? 1 : 0;
    b.labels.set([direct, atc, delayed], i * 3);
    const md = opts.maskDelayedEvery && i % opts.maskDelayedEvery === 0 ? 0 : 1;
    b.mask.set([1, 1, md], i * 3);
    b.user[i] = u;
    b.item[i] = it;
    b.daysToPromo[i] = d + 1;
  }
  return b;
}
