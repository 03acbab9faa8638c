import { assembleBatch, copyRowsTS, type Schema, type SampleColumns } from '../data/batch.js';
import { loadAddon } from '../native.js';

/**
 * Batch assembly with the addon's row copy: each column in one call. The assembly itself, and its
 * TypeScript row copy, is `assembleBatch` (src/data/batch.ts).
 */

export function gatherBatchTS(schema: Schema, src: SampleColumns, idx: Int32Array, out?: SampleColumns): SampleColumns {
  return assembleBatch(copyRowsTS, schema, src, idx, out);
}

export function gatherBatchNative(schema: Schema, src: SampleColumns, idx: Int32Array, out?: SampleColumns): SampleColumns {
  const gatherRows = loadAddon()?.gatherRows;
  if (typeof gatherRows !== 'function') throw new Error('gatherBatchNative needs the native addon, which is not available (run `npx node-gyp rebuild` in the cmdcm package)');
  return assembleBatch((s, width, i, d) => { gatherRows(s, width, i, d); }, schema, src, idx, out);
}

/** The samples at `idx` of `src` as one contiguous batch (written into `out` when given). */
export function gatherBatch(schema: Schema, src: SampleColumns, idx: Int32Array, out?: SampleColumns): SampleColumns {
  const a = loadAddon();
  if (a && typeof a.gatherRows === 'function') return gatherBatchNative(schema, src, idx, out);
  return gatherBatchTS(schema, src, idx, out);
}
