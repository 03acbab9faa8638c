import type { Model, Predictions } from '../model/types.js';
import { columnWidths, copiedColumns, type SampleColumns, type Schema } from '../data/batch.js';
import { abortError, yieldToEventLoop } from './yield.js';

/** Samples [start, end) of `cols` as views (no copy; lazily held sequences are packed for the slice). */
export function sliceColumns(schema: Schema, cols: SampleColumns, start: number, end: number): SampleColumns {
  const w = columnWidths(schema);
  const out = { n: end - start } as SampleColumns;
  for (const name of copiedColumns(cols)) {
    const a = cols[name] as Int32Array | Float32Array;
    (out as unknown as Record<string, unknown>)[name] = a.subarray(start * w[name], end * w[name]);
  }
  if (cols.sequences) {
    out.seq = new Int32Array(out.n * w.seq);
    out.seqLen = new Int32Array(out.n);
    cols.sequences.pack(Int32Array.from({ length: out.n }, (_, i) => start + i), out.seq, out.seqLen);
  }
  return out;
}

/** Predictions for every sample of `cols`, forward passes of at most `batchSize` samples. */
export function predictColumns(model: Model, params: Float32Array, table: Float32Array, schema: Schema, cols: SampleColumns, batchSize: number): Predictions {
  const out = predictionsFor(cols.n, batchSize, 'predictColumns');
  for (let s = 0; s < cols.n; s += batchSize) predictPass(model, params, table, schema, cols, s, Math.min(cols.n, s + batchSize), out);
  return out;
}

/**
 * `predictColumns` that gives the caller's event loop a turn between forward passes (validation,
 * evaluate and predict on tens of thousands of samples otherwise block it for seconds) and stops
 * with an AbortError within one pass of `signal` aborting. `onProgress(done, total)` after each pass.
 */
export async function predictColumnsAsync(model: Model, params: Float32Array, table: Float32Array, schema: Schema, cols: SampleColumns, batchSize: number,
  opts: { signal?: AbortSignal; onProgress?: (done: number, total: number) => void } = {}): Promise<Predictions> {
  const out = predictionsFor(cols.n, batchSize, 'predictColumnsAsync');
  for (let s = 0; s < cols.n; s += batchSize) {
    if (opts.signal?.aborted) throw abortError(opts.signal);
    const e = Math.min(cols.n, s + batchSize);
    predictPass(model, params, table, schema, cols, s, e, out);
    opts.onProgress?.(e, cols.n);
    await yieldToEventLoop();
  }
  return out;
}

/** The output arrays of n predictions; a batch size that is not a positive integer is refused (0 would loop forever). */
function predictionsFor(n: number, batchSize: number, fn: string): Predictions {
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new RangeError(`${fn}: batchSize must be a positive integer, got ${batchSize}`);
  return { direct: new Float32Array(n), atc: new Float32Array(n), transition: new Float32Array(n), delayed: new Float32Array(n) };
}

/** One forward pass over samples [s, e) into `out` at s. */
function predictPass(model: Model, params: Float32Array, table: Float32Array, schema: Schema, cols: SampleColumns, s: number, e: number, out: Predictions): void {
  const p = model.predict(params, table, sliceColumns(schema, cols, s, e));
  out.direct.set(p.direct, s);
  out.atc.set(p.atc, s);
  out.transition.set(p.transition, s);
  out.delayed.set(p.delayed, s);
}
