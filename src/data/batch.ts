/**
 * What a prepared dataset holds per sample, and what a model consumes per batch.
 *
 * Sparse/dense split (TorchRec-style): every sparse id is hashed into ONE embedding table whose
 * rows are partitioned into per-field bucket ranges (`Schema.hash`). Row 0 is reserved as padding
 * and never a bucket. Sequence tokens reuse the item/category ranges of the target fields (so a
 * clicked item in the history has the same embedding as the target item, DIN-style) and add
 * behavior and time-gap-bucket ranges.
 */
import type { Column } from './types.js';

/** One hashed field's bucket range in the shared table: rows [offset, offset + size). */
export interface FieldHash {
  name: string;
  offset: number;
  size: number;
}

export interface Schema {
  /** Target (per-sample) sparse fields, in the column order of `Batch.fields`. */
  fields: string[];
  /** Sequence length L (events kept before the click). */
  seqLen: number;
  /** Tokens per sequence event, in order: item, category, behavior, gap bucket. */
  seqTokens: ['item', 'category', 'behavior', 'gap'];
  /** Names of the dense features, in column order of `Batch.dense`. */
  dense: string[];
  /** Hash ranges for every hashed field (target fields plus 'behavior' and 'gap'). */
  hash: FieldHash[];
  /** Total rows of the shared embedding table (max offset + size). */
  tableRows: number;
}

/** Column-major-by-sample arrays of N samples (one shard, or one batch). Row-major within a sample. */
export interface SampleColumns {
  n: number;
  /** N × F hashed table rows */
  fields: Int32Array;
  /** N × L × 4 hashed table rows (0 = padding) */
  seq: Int32Array;
  /** N: number of valid events in seq; they are the last L before the click, oldest first, left-aligned */
  seqLen: Int32Array;
  /** N × S dense features */
  dense: Float32Array;
  /** N × 3 labels in TASKS order (direct, atc, delayed), 0/1 */
  labels: Float32Array;
  /** N × 3 availability masks in TASKS order, 0/1 */
  mask: Float32Array;
  /** N: interned user index (dataset-local; GAUC groups by it, predict maps it back to the raw id) */
  user: Int32Array;
  /** N: interned item index */
  item: Int32Array;
  /** N: click time, local wall-clock seconds */
  time: Int32Array;
  /** N: whole days from the click's day to its promotion day (>= 1) */
  daysToPromo: Int32Array;
  /** N: index into meta.promotions */
  promo: Int32Array;
  /**
   * When present, `seq` and `seqLen` are empty and the sequences are packed on demand by batch
   * assembly (gatherBatch, gatherColumns): a whole split then holds its compact event histories
   * instead of 4·L int32 per sample (`Dataset.load(split, { lazySequences: true })`).
   */
  sequences?: SequenceSource;
}

/** Packs the sequences of samples `idx` (of the columns it belongs to) into `seq` / `seqLen` rows 0…idx.length-1. */
export interface SequenceSource {
  pack(idx: Int32Array, seq: Int32Array, seqLen: Int32Array): void;
}

/** The columns batch assembly copies; seq and seqLen come from `sequences` instead when it is set. */
export function copiedColumns(src: SampleColumns): readonly SampleColumnName[] {
  return src.sequences ? SAMPLE_COLUMNS.filter((c) => c !== 'seq' && c !== 'seqLen') : SAMPLE_COLUMNS;
}

export type Batch = SampleColumns;

/** Names of the per-sample arrays of SampleColumns (everything but n). */
export const SAMPLE_COLUMNS = ['fields', 'seq', 'seqLen', 'dense', 'labels', 'mask', 'user', 'item', 'time', 'daysToPromo', 'promo'] as const;
export type SampleColumnName = (typeof SAMPLE_COLUMNS)[number];

/** Per-sample width of each column given a schema. */
export function columnWidths(schema: Schema): Record<SampleColumnName, number> {
  return {
    fields: schema.fields.length,
    seq: schema.seqLen * 4,
    seqLen: 1,
    dense: schema.dense.length,
    labels: 3,
    mask: 3,
    user: 1,
    item: 1,
    time: 1,
    daysToPromo: 1,
    promo: 1,
  };
}

/** Allocate empty columns for n samples. */
export function allocColumns(schema: Schema, n: number): SampleColumns {
  const w = columnWidths(schema);
  return {
    n,
    fields: new Int32Array(n * w.fields),
    seq: new Int32Array(n * w.seq),
    seqLen: new Int32Array(n),
    dense: new Float32Array(n * w.dense),
    labels: new Float32Array(n * 3),
    mask: new Float32Array(n * 3),
    user: new Int32Array(n),
    item: new Int32Array(n),
    time: new Int32Array(n),
    daysToPromo: new Int32Array(n),
    promo: new Int32Array(n),
  };
}

/** A per-sample array of SampleColumns. */
type SampleArray = Exclude<Column, Uint8Array>;

/** Copies rows `idx` (each `width` values) of one column into the front of `dst`. */
export type CopyRows = (src: SampleArray, width: number, idx: Int32Array, dst: SampleArray) => void;

/** Element-wise copy: beats a subarray + set per row for the narrow columns. */
export const copyRowsTS: CopyRows = (s, width, idx, d) => {
  for (let i = 0, o = 0; i < idx.length; i++) {
    const from = idx[i] * width;
    for (let k = 0; k < width; k++) d[o++] = s[from + k];
  }
};

/**
 * Batch assembly, the one implementation: the samples at `idx` of `src` as one contiguous batch
 * (written into `out` when given), each column's rows copied by `copy` (`copyRowsTS`, or the
 * addon's in src/features/gather.ts). A lazily packed source (SampleColumns.sequences) packs the
 * batch's sequences itself.
 */
export function assembleBatch(copy: CopyRows, schema: Schema, src: SampleColumns, idx: Int32Array, out?: SampleColumns): SampleColumns {
  for (let i = 0; i < idx.length; i++) {
    const k = idx[i];
    if (!(k >= 0 && k < src.n)) throw new RangeError(`gatherBatch: idx[${i}] = ${k} is not a sample of the source (${src.n} samples)`);
  }
  const w = columnWidths(schema);
  const res = out ?? allocColumns(schema, idx.length);
  res.n = idx.length;
  src.sequences?.pack(idx, res.seq, res.seqLen);
  for (const name of copiedColumns(src)) {
    const width = w[name];
    if (width === 0) continue;
    const d = res[name] as SampleArray;
    if (d.length < idx.length * width) throw new RangeError(`gatherBatch: out.${name} is too short for ${idx.length} samples`);
    copy(src[name] as SampleArray, width, idx, d);
  }
  return res;
}

/** Copy the samples at `idx` of `src` into a new contiguous batch (TypeScript; `gatherBatch` in src/features uses the addon). */
export function gatherColumns(schema: Schema, src: SampleColumns, idx: ArrayLike<number>): SampleColumns {
  return assembleBatch(copyRowsTS, schema, src, idx instanceof Int32Array ? idx : Int32Array.from(idx));
}
