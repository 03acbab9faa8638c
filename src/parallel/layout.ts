import { columnWidths, SAMPLE_COLUMNS, type SampleColumns, type SampleColumnName, type Schema } from '../data/batch.js';

/**
 * Where everything the workers share lives inside one buffer (a SharedArrayBuffer for threads, a
 * memory-mapped segment for processes). The layout is plain data so it travels to every worker in
 * its init message and every worker builds identical views.
 *
 *   ctrl        int32 control words (barrier, abort, non-finite flag)
 *   params m v  dense parameters and their Adam moments (P each)
 *   grads       W × P: worker w's dense gradient at [w·P, (w+1)·P)
 *   table tableM tableV   the embedding table and its row optimizer state (once, for all workers)
 *   rowCount rowIdx rowGrad   each worker's touched rows and their gradients (capacity rowCap)
 *   batch       the current global batch, one column per SampleColumns array (capacity batchCap)
 *   gradSum rowSum   gradient-only workers (an MPI rank's threads): the workers' summed dense
 *               gradient (P) and summed row gradients (tableRows × dim, by row); the moments are
 *               then empty, the rank's optimizer runs after the ranks' reduction
 */
export const CTRL_WORDS = 16;
/** ctrl word indices */
export const C_BAR_COUNT = 0;
export const C_BAR_GEN = 1;
/** set to 1 by the coordinator to make every worker leave a barrier and stop */
export const C_ABORT = 2;
/** number of workers whose gradient was non-finite this step (reset by the coordinator) */
export const C_BAD = 3;

export type { TableOptimizer } from '../engine/optim.js';
import type { TableOptimizer } from '../engine/optim.js';

export interface LayoutInput {
  workers: number;
  paramCount: number;
  tableRows: number;
  dim: number;
  tableOptimizer: TableOptimizer;
  /** largest global batch a step may carry */
  batchCap: number;
  schema: Schema;
  /** rows a micro-batch may touch; default: every table row its samples can name */
  rowCap?: number;
  /** the workers only sum their gradients (into gradSum / rowSum) and apply no optimizer */
  gradientOnly?: boolean;
}

export interface RegionLayout extends Required<Omit<LayoutInput, 'schema'>> {
  widths: Record<SampleColumnName, number>;
  bytes: number;
  off: Record<string, number>;
}

const ALIGN = 64;
const INT_COLUMNS = new Set<SampleColumnName>(['fields', 'seq', 'seqLen', 'user', 'item', 'time', 'daysToPromo', 'promo']);

/** Upper bound on the unique rows one worker's share of a global batch can touch. */
export function defaultRowCap(schema: Schema, batchCap: number, workers: number): number {
  const micro = Math.ceil(batchCap / workers);
  const perSample = schema.fields.length + schema.seqLen * 4;
  return Math.max(1, Math.min(schema.tableRows, micro * perSample));
}

export function computeLayout(inp: LayoutInput): RegionLayout {
  const { workers: W, paramCount: P, tableRows: R, dim: D, batchCap: B } = inp;
  if (!(W >= 1) || !Number.isInteger(W)) throw new Error(`layout: workers must be a positive integer, got ${W}`);
  const rowCap = inp.rowCap ?? defaultRowCap(inp.schema, B, W);
  const gradientOnly = inp.gradientOnly ?? false;
  // gradient-only workers keep no optimizer state
  const moments = gradientOnly ? 0 : 1;
  const widths = columnWidths(inp.schema);
  const off: Record<string, number> = {};
  let at = 0;
  const put = (name: string, bytes: number) => {
    at = Math.ceil(at / ALIGN) * ALIGN;
    off[name] = at;
    at += bytes;
  };
  put('ctrl', CTRL_WORDS * 4);
  put('params', P * 4);
  put('m', moments * P * 4);
  put('v', moments * P * 4);
  put('grads', W * P * 4);
  put('table', R * D * 4);
  put('tableM', moments * R * D * 4);
  put('tableV', inp.tableOptimizer === 'lazyAdam' ? moments * R * D * 4 : 0);
  put('rowCount', W * 4);
  put('rowIdx', W * rowCap * 4);
  put('rowGrad', W * rowCap * D * 4);
  for (const c of SAMPLE_COLUMNS) put('batch.' + c, B * widths[c] * 4);
  put('gradSum', (1 - moments) * P * 4);
  put('rowSum', (1 - moments) * R * D * 4);
  const bytes = Math.max(ALIGN, Math.ceil(at / 4096) * 4096);
  return { workers: W, paramCount: P, tableRows: R, dim: D, tableOptimizer: inp.tableOptimizer, batchCap: B, rowCap, gradientOnly, widths, bytes, off };
}

export interface RegionViews {
  ctrl: Int32Array;
  params: Float32Array;
  m: Float32Array;
  v: Float32Array;
  grads: Float32Array;
  table: Float32Array;
  tableM: Float32Array;
  tableV: Float32Array;
  rowCount: Int32Array;
  rowIdx: Int32Array;
  rowGrad: Float32Array;
  /** capacity-sized columns (n = batchCap); a step uses the first n samples */
  batch: SampleColumns;
  /** gradient-only workers' sums (empty otherwise) */
  gradSum: Float32Array;
  rowSum: Float32Array;
}

export function viewsOf(buf: ArrayBufferLike, L: RegionLayout): RegionViews {
  if (buf.byteLength < L.bytes) throw new Error(`shared region is ${buf.byteLength} bytes, layout needs ${L.bytes}`);
  const P = L.paramCount, RD = L.tableRows * L.dim, mo = L.gradientOnly ? 0 : 1;
  const f = (name: string, n: number) => new Float32Array(buf, L.off[name], n);
  const i = (name: string, n: number) => new Int32Array(buf, L.off[name], n);
  const batch = { n: L.batchCap } as SampleColumns;
  for (const c of SAMPLE_COLUMNS) {
    const n = L.batchCap * L.widths[c];
    (batch as unknown as Record<string, Int32Array | Float32Array>)[c] = INT_COLUMNS.has(c) ? i('batch.' + c, n) : f('batch.' + c, n);
  }
  return {
    ctrl: i('ctrl', CTRL_WORDS),
    params: f('params', P),
    m: f('m', mo * P),
    v: f('v', mo * P),
    grads: f('grads', L.workers * P),
    table: f('table', RD),
    tableM: f('tableM', mo * RD),
    tableV: f('tableV', L.tableOptimizer === 'lazyAdam' ? mo * RD : 0),
    rowCount: i('rowCount', L.workers),
    rowIdx: i('rowIdx', L.workers * L.rowCap),
    rowGrad: f('rowGrad', L.workers * L.rowCap * L.dim),
    batch,
    gradSum: f('gradSum', (1 - mo) * P),
    rowSum: f('rowSum', (1 - mo) * RD),
  };
}

/** Copy a batch into the shared batch columns (the coordinator, before each step). */
export function writeBatch(dst: SampleColumns, src: SampleColumns, L: RegionLayout): void {
  if (src.n > L.batchCap) throw new Error(`batch of ${src.n} samples exceeds the shared batch capacity ${L.batchCap}`);
  for (const c of SAMPLE_COLUMNS) {
    const s = src[c] as Int32Array | Float32Array;
    const need = src.n * L.widths[c];
    if (s.length < need) throw new Error(`batch column '${c}' has ${s.length} values, expected ${need}`);
    (dst[c] as Int32Array | Float32Array).set(need === s.length ? s : s.subarray(0, need));
  }
}

/** Samples [lo, hi) of a batch as views (no copy). */
export function sliceBatch(b: SampleColumns, lo: number, hi: number, widths: Record<SampleColumnName, number>): SampleColumns {
  const out = { n: hi - lo } as SampleColumns;
  for (const c of SAMPLE_COLUMNS) {
    const w = widths[c];
    (out as unknown as Record<string, Int32Array | Float32Array>)[c] = (b[c] as Int32Array | Float32Array).subarray(lo * w, hi * w);
  }
  return out;
}
