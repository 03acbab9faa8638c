import { allocColumns, columnWidths, copiedColumns, type Schema, type SampleColumns } from '../data/batch.js';
import { loadAddon } from '../native.js';

/**
 * Batch assembly: the samples at `idx` of `src` as one contiguous batch, the same result as
 * `gatherColumns` (src/data/batch.ts). The addon copies each column in one call; the TS path
 * copies element-wise, which beats a subarray + set per row for the narrow columns.
 */

interface GatherAddon {
  gatherRows(src: ArrayBufferView, width: number, idx: Int32Array, dst: ArrayBufferView): ArrayBufferView;
}

type Column = Int32Array | Float32Array;

function checkIdx(src: SampleColumns, idx: Int32Array): void {
  for (let i = 0; i < idx.length; i++) {
    const k = idx[i];
    if (!(k >= 0 && k < src.n)) throw new RangeError(`gatherBatch: idx[${i}] = ${k} is not a sample of the source (${src.n} samples)`);
  }
}

/** A lazily packed source (SampleColumns.sequences) packs the batch's sequences itself. */
function packSequences(src: SampleColumns, idx: Int32Array, res: SampleColumns): void {
  if (!src.sequences) return;
  if (res.seqLen.length < idx.length) throw new RangeError(`gatherBatch: out.seqLen is too short for ${idx.length} samples`);
  src.sequences.pack(idx, res.seq, res.seqLen);
}

export function gatherBatchTS(schema: Schema, src: SampleColumns, idx: Int32Array, out?: SampleColumns): SampleColumns {
  checkIdx(src, idx);
  const w = columnWidths(schema);
  const res = out ?? allocColumns(schema, idx.length);
  res.n = idx.length;
  packSequences(src, idx, res);
  for (const name of copiedColumns(src)) {
    const width = w[name];
    const s = src[name] as Column, d = res[name] as Column;
    if (d.length < idx.length * width) throw new RangeError(`gatherBatch: out.${name} is too short for ${idx.length} samples`);
    for (let i = 0, o = 0; i < idx.length; i++) {
      const from = idx[i] * width;
      for (let k = 0; k < width; k++) d[o++] = s[from + k];
    }
  }
  return res;
}

export function gatherBatchNative(schema: Schema, src: SampleColumns, idx: Int32Array, out?: SampleColumns): SampleColumns {
  const addon = loadAddon() as unknown as GatherAddon | undefined;
  if (!addon || typeof addon.gatherRows !== 'function') throw new Error('gatherBatchNative needs the native addon, which is not available (run `npx node-gyp rebuild` in the cmdcm package)');
  checkIdx(src, idx);
  const w = columnWidths(schema);
  const res = out ?? allocColumns(schema, idx.length);
  res.n = idx.length;
  packSequences(src, idx, res);
  for (const name of copiedColumns(src)) {
    const width = w[name];
    if (width === 0) continue;
    addon.gatherRows(src[name] as Column, width, idx, res[name] as Column);
  }
  return res;
}

/** The samples at `idx` of `src` as one contiguous batch (written into `out` when given). */
export function gatherBatch(schema: Schema, src: SampleColumns, idx: Int32Array, out?: SampleColumns): SampleColumns {
  const a = loadAddon();
  if (a && typeof a.gatherRows === 'function') return gatherBatchNative(schema, src, idx, out);
  return gatherBatchTS(schema, src, idx, out);
}
