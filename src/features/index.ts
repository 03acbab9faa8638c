import type { FieldHash } from '../data/batch.js';
import { loadAddon, type AddonFunctions } from '../native.js';
import { checkFieldHash, checkStarts, hashBytesTS, hashVocabTS } from './hashing.js';
import { checkPackRequest, packSequencesTS, type PackedSequences, type PackRequest } from './packing.js';

/**
 * Feature hashing and sequence packing with the addon's fast path: the public functions use the
 * addon when it loads (src/native.ts warns once when it does not) and the TypeScript reference
 * otherwise. Both implementations are exported under explicit names for tests and benches.
 */

export { hashBucket, hashVocabTS, hashBytesTS, encodeVocab, layoutHash, checkFieldHash } from './hashing.js';
export { packSequencesTS, gapBucket, GAP_BUCKETS, type PackRequest, type PackedSequences } from './packing.js';

type FeatureAddon = Pick<AddonFunctions, 'hashVocab' | 'hashBytes' | 'packSequences'>;

function featureAddon(fn: keyof FeatureAddon): FeatureAddon | undefined {
  const a = loadAddon();
  return a && typeof a[fn] === 'function' ? (a as FeatureAddon) : undefined;
}

/** True when the addon provides both feature kernels (what `hashVocab`/`packSequences` will use). */
export function nativeFeaturesAvailable(): boolean {
  return featureAddon('hashVocab') !== undefined && featureAddon('packSequences') !== undefined;
}

function requireFeatureAddon(fn: keyof FeatureAddon): FeatureAddon {
  const a = featureAddon(fn);
  if (!a) throw new Error(`${fn}Native needs the native addon, which is not available (run \`npx node-gyp rebuild\` in the cmdcm package)`);
  return a;
}

/**
 * Addon bulk hashing. Strings cross into C++ as the UTF-8 of `values.join("\0")` plus each value's
 * UTF-16 length, one block of values at a time: one encode per block, where a per-string hand-over
 * costs more than hashing the string. Blocks, because one join over a million values builds a
 * large old-space string and measured ~4× slower than blocks of a few thousand.
 */
export function hashVocabNative(fh: FieldHash, values: readonly string[], out?: Int32Array): Int32Array {
  const addon = requireFeatureAddon('hashVocab');
  checkFieldHash(fh);
  const n = values.length;
  const res = out ?? new Int32Array(n);
  if (res.length < n) throw new RangeError(`hashVocab: out has ${res.length} entries for ${n} values`);
  const units = new Int32Array(Math.min(n, HASH_BLOCK));
  for (let s = 0; s < n; s += HASH_BLOCK) {
    const m = Math.min(HASH_BLOCK, n - s);
    const block = values.slice(s, s + m);
    for (let i = 0; i < m; i++) units[i] = block[i].length;
    const bytes = Buffer.from(block.join('\0'), 'utf8');
    addon.hashVocab(fh.name, fh.offset, fh.size, bytes, units.subarray(0, m), res.subarray(s, s + m));
  }
  return res;
}

const HASH_BLOCK = 8192;

// Below this many values the buffer set-up costs more than the TS loop.
const NATIVE_HASH_MIN = 32;

/** Table rows of many values of one field (each distinct vocabulary entry hashed once). */
export function hashVocab(fh: FieldHash, values: readonly string[], out?: Int32Array): Int32Array {
  if (values.length >= NATIVE_HASH_MIN && featureAddon('hashVocab')) return hashVocabNative(fh, values, out);
  return hashVocabTS(fh, values, out);
}

/** Addon packing: zero-copy on the request's arrays, writes into `out` (allocated when absent). */
export function packSequencesNative(req: PackRequest, out?: PackedSequences): PackedSequences {
  const addon = requireFeatureAddon('packSequences');
  const res = checkPackRequest(req, out);
  addon.packSequences(
    req.time, req.itemRow, req.catRow, req.behavior, req.userStart, req.sampleUser, req.sampleTime,
    req.seqLen, req.resolution, req.behaviorOffset, req.gapOffset, req.gapBuckets, res.seq, res.seqLen,
  );
  return res;
}

/** Packs the behavior sequences of N samples (see packing.ts for the exact semantics). */
export function packSequences(req: PackRequest, out?: PackedSequences): PackedSequences {
  if (featureAddon('packSequences')) return packSequencesNative(req, out);
  return packSequencesTS(req, out);
}

/** Addon hashing of values given as UTF-8 bytes (see `hashBytesTS`); zero-copy on the arrays. */
export function hashBytesNative(fh: FieldHash, bytes: Uint8Array, starts: Int32Array, out?: Int32Array): Int32Array {
  const addon = requireFeatureAddon('hashBytes');
  checkFieldHash(fh);
  const n = checkStarts(bytes, starts);
  const res = out ?? new Int32Array(n);
  if (res.length < n) throw new RangeError(`hashBytes: out has ${res.length} entries for ${n} values`);
  addon.hashBytes(fh.name, fh.offset, fh.size, bytes, starts, res);
  return res;
}

/** Table rows of values given as UTF-8: value i is bytes[starts[i], starts[i + 1]). */
export function hashBytes(fh: FieldHash, bytes: Uint8Array, starts: Int32Array, out?: Int32Array): Int32Array {
  if (featureAddon('hashBytes')) return hashBytesNative(fh, bytes, starts, out);
  return hashBytesTS(fh, bytes, starts, out);
}

export { gatherBatch, gatherBatchTS, gatherBatchNative } from './gather.js';
