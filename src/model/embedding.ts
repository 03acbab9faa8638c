import { gaussian, rng } from './params.js';

/**
 * Host side of the shared embedding table (HACKING.md "Model ↔ trainer ↔ parallel"): a batch only
 * ever reads and differentiates the rows its ids touch. We gather those rows into a small |U| × dim
 * block, remap the batch's ids to local indices into it, and the model's gradient w.r.t. the block
 * *is* the sparse row gradient — no V × dim tensor is ever built.
 *
 * Local index 0 is reserved for the padding row (table row 0): the model prepends a constant zero
 * row, so padded sequence slots embed to zeros and receive no gradient; row r of `rows` has local
 * index r + 1.
 */
export interface BatchRows {
  /** unique touched table rows, ascending, row 0 excluded */
  rows: Int32Array;
  /** rows.length × dim, copied from the table */
  values: Float32Array;
  /** local indices of each id array passed in, same shapes */
  local: Int32Array[];
}

/** Unique non-zero ids of all arrays, ascending; throws on an id outside [0, tableRows). */
export function uniqueRows(ids: Int32Array[], tableRows: number): Int32Array {
  let total = 0;
  for (const a of ids) total += a.length;
  const all = new Int32Array(total);
  let k = 0;
  for (const a of ids) {
    for (let i = 0; i < a.length; i++) {
      const v = a[i];
      if (v < 0 || v >= tableRows) throw new Error(`embedding row ${v} outside the table (0..${tableRows - 1}): batch and schema disagree`);
      if (v !== 0) all[k++] = v;
    }
  }
  const sorted = all.subarray(0, k).sort();
  let u = 0;
  for (let i = 0; i < sorted.length; i++) if (i === 0 || sorted[i] !== sorted[i - 1]) sorted[u++] = sorted[i];
  return sorted.slice(0, u);
}

function localIndex(rows: Int32Array, v: number): number {
  if (v === 0) return 0;
  let lo = 0, hi = rows.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const r = rows[mid];
    if (r === v) return mid + 1;
    if (r < v) lo = mid + 1;
    else hi = mid - 1;
  }
  throw new Error(`row ${v} missing from the gathered set`);
}

export function gatherBatchRows(table: Float32Array, dim: number, ids: Int32Array[]): BatchRows {
  const tableRows = Math.floor(table.length / dim);
  if (tableRows * dim !== table.length) throw new Error(`embedding table length ${table.length} is not a multiple of dim ${dim}`);
  const rows = uniqueRows(ids, tableRows);
  const values = new Float32Array(rows.length * dim);
  for (let r = 0; r < rows.length; r++) values.set(table.subarray(rows[r] * dim, rows[r] * dim + dim), r * dim);
  const local = ids.map((a) => {
    const out = new Int32Array(a.length);
    for (let i = 0; i < a.length; i++) out[i] = localIndex(rows, a[i]);
    return out;
  });
  return { rows, values, local };
}

/** Dense-table view of a sparse row gradient (test oracle / debugging; never on the hot path). */
export function scatterAddRows(dst: Float32Array, dim: number, rows: Int32Array, rowGrad: Float32Array): void {
  for (let r = 0; r < rows.length; r++) {
    const base = rows[r] * dim;
    for (let j = 0; j < dim; j++) dst[base + j] += rowGrad[r * dim + j];
  }
}

/** A fresh table: N(0, std²) rows, row 0 (padding) zeros; seeded. */
export function initTable(tableRows: number, dim: number, seed: number, std = 0.05): Float32Array {
  const t = new Float32Array(tableRows * dim);
  const g = gaussian(rng(seed ^ 0x5bd1e995));
  for (let i = dim; i < t.length; i++) t[i] = std * g();
  return t;
}
