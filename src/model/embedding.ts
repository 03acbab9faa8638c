import { loadAddon, type AddonFunctions } from '../native.js';
import { gaussian, rng } from './params.js';

/**
 * Host side of the shared embedding table (HACKING.md "Model ↔ trainer ↔ parallel"): a batch only
 * ever reads and differentiates the rows its ids touch. We gather those rows into a small |U| × dim
 * block, remap the batch's ids to local indices into it, and the model's gradient w.r.t. the block
 * *is* the sparse row gradient — no V × dim tensor is ever built.
 *
 * Local index 0 is reserved for the padding row (table row 0): a zero row at the front of the block
 * (`padRow`), so padded sequence slots embed to zeros and the gradient they get is dropped; row r of
 * `rows` has local index r + 1.
 */
export interface BatchRows {
  /** unique touched table rows, ascending, row 0 excluded */
  rows: Int32Array;
  /** rows.length × dim copied from the table; with `padRow`, preceded by one zero row */
  values: Float32Array;
  /** local indices of each id array passed in, same shapes */
  local: Int32Array[];
}

/**
 * Open-addressing set of table rows (multiplicative hashing, linear probing) mapping each row to a
 * slot value. A batch touches ~10⁵ ids but only ~10⁴ distinct rows: hashing is O(ids), where
 * sorting every id was the largest host cost of a step.
 */
class RowMap {
  readonly keys: Int32Array;
  readonly vals: Int32Array;
  private readonly mask: number;
  private readonly shift: number;
  size = 0;

  constructor(maxKeys: number) {
    let cap = 16, bits = 4;
    while (cap < 2 * maxKeys) {
      cap *= 2;
      bits++;
    }
    this.keys = new Int32Array(cap); // 0 = empty (row 0 is never stored)
    this.vals = new Int32Array(cap);
    this.mask = cap - 1;
    this.shift = 32 - bits;
  }

  slot(v: number): number {
    let i = Math.imul(v, 0x9e3779b1) >>> this.shift;
    for (;;) {
      const k = this.keys[i];
      if (k === v || k === 0) return i;
      i = (i + 1) & this.mask;
    }
  }

  add(v: number): number {
    const i = this.slot(v);
    if (this.keys[i] === 0) {
      this.keys[i] = v;
      this.size++;
    }
    return i;
  }
}

function checkRange(a: Int32Array, tableRows: number): void {
  for (let i = 0; i < a.length; i++) {
    const v = a[i];
    if (v < 0 || v >= tableRows) throw new Error(`embedding row ${v} outside the table (0..${tableRows - 1}): batch and schema disagree`);
  }
}

/** Unique rows ascending, and for every id its map slot (-1 for padding), whose value is its local index. */
function collect(ids: Int32Array[], tableRows: number): { map: RowMap; rows: Int32Array; slots: Int32Array[] } {
  let total = 0;
  for (const a of ids) {
    checkRange(a, tableRows);
    total += a.length;
  }
  const map = new RowMap(total);
  const slots = ids.map((a) => {
    const sl = new Int32Array(a.length);
    for (let i = 0; i < a.length; i++) sl[i] = a[i] === 0 ? -1 : map.add(a[i]);
    return sl;
  });
  const rows = new Int32Array(map.size);
  let k = 0;
  for (let i = 0; i < map.keys.length; i++) if (map.keys[i] !== 0) rows[k++] = map.keys[i];
  rows.sort();
  for (let r = 0; r < rows.length; r++) map.vals[map.slot(rows[r])] = r + 1;
  return { map, rows, slots };
}

/** Unique non-zero ids of all arrays, ascending; throws on an id outside [0, tableRows). */
export function uniqueRows(ids: Int32Array[], tableRows: number): Int32Array {
  return collect(ids, tableRows).rows;
}

export interface GatherOptions {
  /** supplies the values array (exactly n elements; contents are overwritten) */
  alloc?: (n: number) => Float32Array;
  /** values start with a zero row for local index 0 */
  padRow?: boolean;
  /**
   * arrays to write `local` into, one per ids array and of its length (contents overwritten), so a
   * caller can reuse them across batches; fresh arrays when absent
   */
  localOut?: Int32Array[];
}

type NativeGather = AddonFunctions['embeddingGatherRows'];

// Resolved on first use rather than at import, so CMDCM_NO_NATIVE set by a test before the first
// gather still selects the fallback.
let nativeGather: NativeGather | null | undefined;

function native(): NativeGather | null {
  if (nativeGather === undefined) {
    const fn = loadAddon()?.embeddingGatherRows;
    nativeGather = typeof fn === 'function' ? fn : null;
  }
  return nativeGather;
}

/**
 * The addon's bitmap kernel (native/model/embedding.cc: no hashing, no sort) when it is built,
 * else the TypeScript oracle below; both return identical arrays.
 */
export function gatherBatchRows(table: Float32Array, dim: number, ids: Int32Array[], opts: GatherOptions = {}): BatchRows {
  const fn = native();
  if (fn) return fn(table, dim, ids, opts.alloc, opts.padRow ?? false, opts.localOut);
  return gatherBatchRowsTs(table, dim, ids, opts);
}

/** The TypeScript implementation: fallback without the addon, and the oracle its tests compare against. */
export function gatherBatchRowsTs(table: Float32Array, dim: number, ids: Int32Array[], opts: GatherOptions = {}): BatchRows {
  const tableRows = Math.floor(table.length / dim);
  if (tableRows * dim !== table.length) throw new Error(`embedding table length ${table.length} is not a multiple of dim ${dim}`);
  const outs = opts.localOut;
  if (outs) {
    if (outs.length !== ids.length) throw new Error(`embeddingGatherRows: localOut must be an array of ${ids.length} Int32Array (one per ids array)`);
    outs.forEach((o, a) => {
      if (!(o instanceof Int32Array) || o.length !== ids[a].length) {
        throw new Error(`embeddingGatherRows: localOut[${a}] must be an Int32Array of ${ids[a].length} elements (the length of ids[${a}])`);
      }
    });
  }
  const { map, rows, slots } = collect(ids, tableRows);
  const pad = opts.padRow ? dim : 0;
  const n = pad + rows.length * dim;
  const values = opts.alloc ? opts.alloc(n) : new Float32Array(n);
  if (values.length !== n) throw new Error(`gather alloc(${n}) returned ${values.length} elements`);
  values.fill(0, 0, pad);
  for (let r = 0; r < rows.length; r++) values.set(table.subarray(rows[r] * dim, rows[r] * dim + dim), pad + r * dim);
  const local = slots.map((sl, a) => {
    const out = outs ? outs[a] : new Int32Array(sl.length);
    for (let i = 0; i < sl.length; i++) out[i] = sl[i] >= 0 ? map.vals[sl[i]] : 0;
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
