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

/** Copies rows `idx` (each `width` values) of one column into the front of `dst`. */
type CopyRows = (src: Column, width: number, idx: Int32Array, dst: Column) => void;

const copyRowsTS: CopyRows = (s, width, idx, d) => {
  for (let i = 0, o = 0; i < idx.length; i++) {
    const from = idx[i] * width;
    for (let k = 0; k < width; k++) d[o++] = s[from + k];
  }
};

/**
 * The one assembly both paths share; they differ only in how a column's rows are copied. A lazily
 * packed source (SampleColumns.sequences) packs the batch's sequences itself.
 */
function gatherWith(copy: CopyRows, schema: Schema, src: SampleColumns, idx: Int32Array, out?: SampleColumns): SampleColumns {
  checkIdx(src, idx);
  const w = columnWidths(schema);
  const res = out ?? allocColumns(schema, idx.length);
  res.n = idx.length;
  src.sequences?.pack(idx, res.seq, res.seqLen);
  for (const name of copiedColumns(src)) {
    const width = w[name];
    if (width === 0) continue;
    const d = res[name] as Column;
    if (d.length < idx.length * width) throw new RangeError(`gatherBatch: out.${name} is too short for ${idx.length} samples`);
    copy(src[name] as Column, width, idx, d);
  }
  return res;
}

export function gatherBatchTS(schema: Schema, src: SampleColumns, idx: Int32Array, out?: SampleColumns): SampleColumns {
  return gatherWith(copyRowsTS, schema, src, idx, out);
}

export function gatherBatchNative(schema: Schema, src: SampleColumns, idx: Int32Array, out?: SampleColumns): SampleColumns {
  const addon = loadAddon() as unknown as GatherAddon | undefined;
  if (!addon || typeof addon.gatherRows !== 'function') throw new Error('gatherBatchNative needs the native addon, which is not available (run `npx node-gyp rebuild` in the cmdcm package)');
  return gatherWith((s, width, i, d) => { addon.gatherRows(s, width, i, d); }, schema, src, idx, out);
}

/** The samples at `idx` of `src` as one contiguous batch (written into `out` when given). */
export function gatherBatch(schema: Schema, src: SampleColumns, idx: Int32Array, out?: SampleColumns): SampleColumns {
  const a = loadAddon();
  if (a && typeof a.gatherRows === 'function') return gatherBatchNative(schema, src, idx, out);
  return gatherBatchTS(schema, src, idx, out);
}
