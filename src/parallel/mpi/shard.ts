/**
 * The arithmetic of the sharded embedding table, as pure functions so it is tested without MPI.
 * Row r of the table lives on rank r mod N (the owner the thread workers already use for the row
 * optimizer), at local row r div N of that rank's shard.
 */

/** Rows rank u owns in a table of `rows` rows over `size` ranks. */
export function shardRows(rows: number, size: number, u: number): number {
  return rows > u ? Math.floor((rows - u + size - 1) / size) : 0;
}

/** The requests a rank sends for the rows its micro-batch touches. */
export interface RowRequests {
  /** the touched rows grouped by owner (ascending within each owner) */
  ids: Int32Array;
  /** ids[s] is unique[order[s]] */
  order: Int32Array;
  /** per owner: how many ids, and where its block starts */
  counts: Int32Array;
  displs: Int32Array;
}

/** Groups a micro-batch's unique rows (ascending) by owner, keeping each owner's block ascending. */
export function planRequests(unique: Int32Array, size: number): RowRequests {
  const counts = new Int32Array(size), displs = new Int32Array(size);
  for (let i = 0; i < unique.length; i++) counts[unique[i] % size]++;
  for (let u = 1; u < size; u++) displs[u] = displs[u - 1] + counts[u - 1];
  const at = displs.slice();
  const ids = new Int32Array(unique.length), order = new Int32Array(unique.length);
  for (let i = 0; i < unique.length; i++) {
    const s = at[unique[i] % size]++;
    ids[s] = unique[i];
    order[s] = i;
  }
  return { ids, order, counts, displs };
}

/**
 * A micro-batch's table rows as indices into the compact table a rank builds each step (row 0 zeros,
 * then the batch's unique rows in ascending order): `compact(ids, outs)` writes outs[k][i] = 1 + the
 * position of ids[k][i] among the unique rows (0 for padding) and returns those rows. One hash pass
 * over the ids (~10⁵ a micro-batch, ~10⁴ distinct) and a sort of the distinct rows; the buffers are
 * reused across steps, and the returned array is valid until the next call.
 */
export class Compactor {
  private keys = new Int32Array(0);
  private vals = new Int32Array(0);
  private mask = 0;
  private shift = 0;
  private slots = new Int32Array(0);
  private uniq = new Int32Array(0);

  constructor(private readonly tableRows: number) {}

  private slot(v: number): number {
    let i = Math.imul(v, 0x9e3779b1) >>> this.shift;
    for (;;) {
      const k = this.keys[i];
      if (k === v || k === 0) return i;
      i = (i + 1) & this.mask;
    }
  }

  compact(ids: Int32Array[], outs: Int32Array[]): Int32Array {
    let total = 0;
    for (const a of ids) total += a.length;
    let cap = 16, bits = 4;
    while (cap < 2 * Math.min(total, this.tableRows)) {
      cap *= 2;
      bits++;
    }
    if (this.keys.length !== cap) {
      this.keys = new Int32Array(cap);
      this.vals = new Int32Array(cap);
      this.mask = cap - 1;
      this.shift = 32 - bits;
    } else {
      this.keys.fill(0); // 0 = empty: row 0 (padding) is never stored
    }
    if (this.slots.length < total) this.slots = new Int32Array(total);
    if (this.uniq.length < total) this.uniq = new Int32Array(total);
    const slots = this.slots, uniq = this.uniq, keys = this.keys, R = this.tableRows;
    let n = 0, at = 0;
    for (const a of ids) {
      for (let i = 0; i < a.length; i++, at++) {
        const v = a[i];
        if (v === 0) {
          slots[at] = -1;
          continue;
        }
        if (v < 0 || v >= R) throw new Error(`embedding row ${v} outside the table (0..${R - 1}): batch and schema disagree`);
        const s = this.slot(v);
        if (keys[s] === 0) {
          keys[s] = v;
          uniq[n++] = v;
        }
        slots[at] = s;
      }
    }
    const unique = uniq.subarray(0, n).sort();
    for (let r = 0; r < n; r++) this.vals[this.slot(unique[r])] = r + 1;
    at = 0;
    ids.forEach((a, k) => {
      const out = outs[k];
      if (out.length < a.length) throw new Error(`compact: output ${k} holds ${out.length} ids, input ${a.length}`);
      for (let i = 0; i < a.length; i++, at++) out[i] = slots[at] < 0 ? 0 : this.vals[slots[at]];
    });
    return unique;
  }
}

/** Copies the owned rows named by `ids` (global rows, all ≡ rank mod size) out of a shard, dim values each, into out at `at` rows. */
export function readOwnedRows(shard: Float32Array, dim: number, size: number, ids: Int32Array, from: number, count: number, out: Float32Array, at: number): void {
  // plain index loops: a subarray per row costs an allocation for every row of every step
  for (let j = 0; j < count; j++) {
    const src = Math.floor(ids[from + j] / size) * dim, dst = (at + j) * dim;
    for (let d = 0; d < dim; d++) out[dst + d] = shard[src + d];
  }
}

/** dst's rows at[k] (k = 0 … n-1) ← src's rows k: out[at[k]·dim …] = src[k·dim …], with `shift` added to each at[k]. */
export function scatterRows(src: Float32Array, at: Int32Array, shift: number, dim: number, dst: Float32Array): void {
  for (let k = 0; k < at.length; k++) {
    const a = (at[k] + shift) * dim, b = k * dim;
    for (let d = 0; d < dim; d++) dst[a + d] = src[b + d];
  }
}

/** out's rows k ← src's rows at[k] (the inverse of scatterRows). */
export function gatherRows(src: Float32Array, at: Int32Array, dim: number, out: Float32Array): void {
  for (let k = 0; k < at.length; k++) {
    const a = at[k] * dim, b = k * dim;
    for (let d = 0; d < dim; d++) out[b + d] = src[a + d];
  }
}
