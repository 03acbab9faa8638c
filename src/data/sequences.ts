import type { Schema } from './batch.js';
import type { Column } from './shards.js';
import { GAP_BUCKETS, packSequences } from '../features/index.js';

/**
 * Pack the behavior sequences of samples `idx` of a chunk (all when absent) into `seq`/`seqLen`
 * at sample offset `at`: the addon's packSequences (TS fallback) over the chunk's block CSR.
 */
export function packChunk(cols: Record<string, Column>, schema: Schema, resolution: number, seq: Int32Array, seqLen: Int32Array, at: number, idx?: ArrayLike<number>): void {
  const L = schema.seqLen;
  const block = cols.seqBlock as Int32Array, time = cols.time as Int32Array;
  const n = idx ? idx.length : block.length;
  if (n === 0) return;
  const sampleUser = idx ? new Int32Array(n) : block, sampleTime = idx ? new Int32Array(n) : time;
  if (idx) for (let q = 0; q < n; q++) { sampleUser[q] = block[idx[q]]; sampleTime[q] = time[idx[q]]; }
  const off = (name: string) => schema.hash.find((h) => h.name === name)!.offset;
  packSequences({
    time: cols.evTime as Int32Array, itemRow: cols.evItem as Int32Array, catRow: cols.evCategory as Int32Array, behavior: cols.evBehavior as Uint8Array,
    userStart: cols.evStart as Int32Array, sampleUser, sampleTime, seqLen: L, resolution,
    behaviorOffset: off('behavior'), gapOffset: off('gap'), gapBuckets: GAP_BUCKETS,
  }, { seq: seq.subarray(at * L * 4, (at + n) * L * 4), seqLen: seqLen.subarray(at, at + n) });
}
