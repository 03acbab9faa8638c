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
 * dst[i] = 1 + (position of src[i] in `unique`), 0 for padding: the batch's table rows as indices
 * into the compact table a rank builds each step (row 0 zeros, then the unique rows in order).
 * Throws on a row missing from `unique`.
 */
export function remapToCompact(src: Int32Array, unique: Int32Array, dst: Int32Array): void {
  const n = unique.length;
  for (let i = 0; i < src.length; i++) {
    const r = src[i];
    if (r === 0) {
      dst[i] = 0;
      continue;
    }
    let lo = 0, hi = n - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (unique[mid] < r) lo = mid + 1;
      else hi = mid;
    }
    if (n === 0 || unique[lo] !== r) throw new Error(`row ${r} is not among the micro-batch's gathered rows`);
    dst[i] = lo + 1;
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
