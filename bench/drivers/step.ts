import * as tf from '@tensorflow/tfjs-core';
import type { Batch, FieldHash, Schema } from '../../src/data/batch.js';
import { allocColumns } from '../../src/data/batch.js';
import { createModel, defaultModelConfig } from '../../src/model/index.js';
import { optimKernels, type AdamHyper } from '../../src/engine/optim.js';
import { gemmInfo, startKernelProfile, stopKernelProfile, useEngine, type EngineName } from '../../src/engine/index.js';
import { mulberry32 } from '../../src/util/rng.js';

/**
 * `cmdcm bench step`: samples/s of one full training step (forward, backward, Adam on the dense
 * parameters, lazy Adam on the touched embedding rows) of the default CM-DCM config on random data
 * shaped like ../shared/bench/torch_ref.py: batch 1024, dim 16, 7 sparse fields, 50-event
 * sequences, 12 dense statistics, towers 256-128-64, a 1M-row hashed table.
 */
export interface StepBenchOptions {
  engine: EngineName;
  batch: number;
  rows: number;
  seqLen: number;
  steps: number;
  warmup: number;
  profile: boolean;
  seed: number;
}

export interface StepBenchResult {
  bench: 'step';
  engine: string;
  gemm: string | null;
  model: string;
  batch: number;
  rows: number;
  seq: number;
  steps: number;
  ms_per_step: number;
  grad_ms: number;
  optim_ms: number;
  samples_per_s: number;
  loss: number;
  profile?: { kernel: string; ms_per_step: number; calls_per_step: number; share: number }[];
}

const FIELDS = ['user', 'item', 'category', 'seller', 'brand', 'days', 'hour'];
const STATS = 12;

/** A schema with torch_ref.py's shapes: the hash ranges fill a table of exactly `rows` rows. */
export function benchSchema(rows: number, seqLen: number): Schema {
  const fixed: Record<string, number> = { user: Math.floor(rows * 0.4), category: Math.floor(rows * 0.01), seller: Math.floor(rows * 0.1),
    brand: Math.floor(rows * 0.08), days: 32, hour: 24, behavior: 4, gap: 16 };
  const used = Object.values(fixed).reduce((a, b) => a + b, 0);
  const sizes: Record<string, number> = { ...fixed, item: rows - 1 - used };
  if (sizes.item < 1) throw new Error(`--rows ${rows} is too small for the benchmark schema`);
  const hash: FieldHash[] = [];
  let off = 1;
  for (const name of [...FIELDS, 'behavior', 'gap']) {
    hash.push({ name, offset: off, size: sizes[name] });
    off += sizes[name];
  }
  return { fields: FIELDS, seqLen, seqTokens: ['item', 'category', 'behavior', 'gap'], dense: Array.from({ length: STATS }, (_, i) => `stat${i}`), hash, tableRows: off };
}

export function benchBatch(schema: Schema, n: number, seed: number): Batch {
  const r = mulberry32(seed);
  const range = (name: string) => {
    const h = schema.hash.find((x) => x.name === name)!;
    return () => h.offset + Math.floor(r() * h.size);
  };
  const b = allocColumns(schema, n);
  const F = schema.fields.length, L = schema.seqLen;
  const fieldGen = schema.fields.map(range);
  const tok = (['item', 'category', 'behavior', 'gap'] as const).map(range);
  for (let i = 0; i < n; i++) {
    for (let f = 0; f < F; f++) b.fields[i * F + f] = fieldGen[f]();
    const len = 1 + Math.floor(r() * L);
    b.seqLen[i] = len;
    for (let e = 0; e < len; e++) for (let t = 0; t < 4; t++) b.seq[(i * L + e) * 4 + t] = tok[t]();
    for (let s = 0; s < schema.dense.length; s++) b.dense[i * schema.dense.length + s] = Math.floor(r() * 20);
    const atc = r() < 0.05 ? 1 : 0;
    b.labels[i * 3] = r() < 0.01 ? 1 : 0;
    b.labels[i * 3 + 1] = atc;
    b.labels[i * 3 + 2] = atc && r() < 0.3 ? 1 : 0;
    b.mask.fill(1, i * 3, i * 3 + 3);
    b.user[i] = i;
    b.item[i] = i;
    b.daysToPromo[i] = 1 + Math.floor(r() * 10);
  }
  return b;
}

export async function runStepBench(o: StepBenchOptions): Promise<StepBenchResult> {
  const engine = await useEngine(o.engine);
  const k = optimKernels(engine);
  const schema = benchSchema(o.rows, o.seqLen);
  const model = createModel(defaultModelConfig('cmdcm'), schema);
  const params = model.initParams(o.seed);
  const D = model.dim;
  const table = new Float32Array(schema.tableRows * D);
  const r = mulberry32(o.seed + 1);
  for (let i = 0; i < table.length; i++) table[i] = (r() - 0.5) * 0.02;
  const m = new Float32Array(params.length), v = new Float32Array(params.length);
  const tm = new Float32Array(table.length), tv = new Float32Array(table.length);
  const batches = [0, 1, 2].map((k) => benchBatch(schema, o.batch, o.seed + 10 + k));
  let step = 0, gradMs = 0, optMs = 0, loss = NaN;
  const one = () => {
    step++;
    const h: AdamHyper = { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, step };
    const t0 = performance.now();
    const g = model.grad(params, table, batches[step % batches.length]);
    const t1 = performance.now();
    k.adamDense(params, g.denseGrad, m, v, h);
    k.lazyAdamRows(table, tm, tv, D, g.rows, g.rowGrad, h);
    const t2 = performance.now();
    loss = g.loss;
    return [t1 - t0, t2 - t1];
  };
  for (let i = 0; i < o.warmup; i++) one();
  const before = tf.memory().numTensors;
  const prof = o.profile ? startKernelProfile() : null;
  const t0 = performance.now();
  for (let i = 0; i < o.steps; i++) {
    const [g, p] = one();
    gradMs += g;
    optMs += p;
  }
  const ms = (performance.now() - t0) / o.steps;
  stopKernelProfile();
  if (tf.memory().numTensors > before) throw new Error(`step leaked ${tf.memory().numTensors - before} tensors`);
  const res: StepBenchResult = {
    bench: 'step', engine, gemm: engine === 'native' ? gemmInfo()?.gemm ?? null : null, model: model.name,
    batch: o.batch, rows: schema.tableRows, seq: o.seqLen, steps: o.steps,
    ms_per_step: +ms.toFixed(2), grad_ms: +(gradMs / o.steps).toFixed(2), optim_ms: +(optMs / o.steps).toFixed(2),
    samples_per_s: Math.round((o.batch * 1000) / ms), loss: +loss.toFixed(5),
  };
  if (prof) {
    let total = 0;
    for (const v of prof.ms.values()) total += v;
    res.profile = [...prof.ms.entries()].sort((a, b) => b[1] - a[1]).map(([kernel, t]) => ({
      kernel, ms_per_step: +(t / o.steps).toFixed(3), calls_per_step: +((prof.calls.get(kernel) ?? 0) / o.steps).toFixed(1),
      share: +(t / (ms * o.steps)).toFixed(3),
    }));
    res.profile.push({ kernel: '(outside kernels: host gather, tfjs bookkeeping, optimizer)', ms_per_step: +((ms * o.steps - total) / o.steps).toFixed(3), calls_per_step: 0, share: +(1 - total / (ms * o.steps)).toFixed(3) });
  }
  return res;
}
