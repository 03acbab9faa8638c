import type { FieldHash } from '../data/batch.js';
import { CmdcmError } from '../util/errors.js';

/**
 * Feature hashing, TypeScript reference (HACKING.md "Hashed table"; native/features/hashing.cc
 * gives identical buckets):
 *   bucket = offset + (fmix64(FNV-1a-64(utf8(field + "\x1f" + value))) mod size), unsigned.
 *
 * 64-bit arithmetic runs on two uint32 halves with Math.imul: a BigInt per byte would be ~50× slower.
 * Strings are UTF-8 encoded on the fly from their UTF-16 code units, with lone surrogates as U+FFFD
 * (what Buffer.from / TextEncoder produce, so the addon's bulk path over an encoded buffer agrees).
 */

const BASIS_HI = 0xcbf29ce4, BASIS_LO = 0x84222325;
// FNV prime 0x100000001b3 = 2^40 + 0x1b3: multiplying by it is one small product plus a shift.
const PRIME_LO = 0x1b3;
const M1_HI = 0xff51afd7, M1_LO = 0xed558ccd;
const M2_HI = 0xc4ceb53f, M2_LO = 0xe1a85ec5;

/**
 * FNV-1a 64 of the UTF-8 of `s`, continuing from (hi, lo), then fmix64, then mod `size`.
 * One function with local state: V8 keeps the halves in registers, where module-level state or a
 * returned pair would box every uint32 above 2^30 into a heap number.
 */
function bucketOf(hi: number, lo: number, s: string, size: number): number {
  const n = s.length;
  for (let i = 0; i < n; i++) {
    let c = s.charCodeAt(i);
    if (c < 0x80) {
      lo ^= c;
      const p = (lo >>> 0) * PRIME_LO;
      hi = (Math.imul(hi, PRIME_LO) + ((p / 4294967296) | 0) + (lo << 8)) | 0;
      lo = p | 0;
      continue;
    }
    // Multi-byte: encode into up to 4 bytes, then feed them one by one.
    let nb: number, b0: number, b1 = 0, b2 = 0, b3 = 0;
    if (c < 0x800) {
      nb = 2;
      b0 = 0xc0 | (c >> 6);
      b1 = 0x80 | (c & 0x3f);
    } else {
      if (c >= 0xd800 && c <= 0xdfff) {
        const d = i + 1 < n ? s.charCodeAt(i + 1) : 0;
        if (c <= 0xdbff && d >= 0xdc00 && d <= 0xdfff) {
          c = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
          i++;
        } else {
          c = 0xfffd; // a lone surrogate encodes as U+FFFD, as Buffer.from / TextEncoder do
        }
      }
      if (c >= 0x10000) {
        nb = 4;
        b0 = 0xf0 | (c >> 18);
        b1 = 0x80 | ((c >> 12) & 0x3f);
        b2 = 0x80 | ((c >> 6) & 0x3f);
        b3 = 0x80 | (c & 0x3f);
      } else {
        nb = 3;
        b0 = 0xe0 | (c >> 12);
        b1 = 0x80 | ((c >> 6) & 0x3f);
        b2 = 0x80 | (c & 0x3f);
      }
    }
    for (let k = 0; k < nb; k++) {
      lo ^= k === 0 ? b0 : k === 1 ? b1 : k === 2 ? b2 : b3;
      const p = (lo >>> 0) * PRIME_LO;
      hi = (Math.imul(hi, PRIME_LO) + ((p / 4294967296) | 0) + (lo << 8)) | 0;
      lo = p | 0;
    }
  }
  return finish(hi, lo, size);
}

/** fmix64 of (hi, lo), then the unsigned remainder mod `size`. */
function finish(hi: number, lo: number, size: number): number {
  hi |= 0;
  lo |= 0;
  // fmix64: k ^= k >> 33; k *= M1; k ^= k >> 33; k *= M2; k ^= k >> 33 (on 32-bit halves)
  lo ^= hi >>> 1;
  let a0 = lo & 0xffff, a1 = lo >>> 16;
  let p00 = a0 * (M1_LO & 0xffff), p01 = a0 * (M1_LO >>> 16), p10 = a1 * (M1_LO & 0xffff), p11 = a1 * (M1_LO >>> 16);
  let mid = (p00 >>> 16) + (p01 & 0xffff) + (p10 & 0xffff);
  hi = (p11 + (p01 >>> 16) + (p10 >>> 16) + (mid >>> 16) + Math.imul(hi, M1_LO) + Math.imul(lo, M1_HI)) | 0;
  lo = (mid << 16) | (p00 & 0xffff);
  lo ^= hi >>> 1;
  a0 = lo & 0xffff;
  a1 = lo >>> 16;
  p00 = a0 * (M2_LO & 0xffff);
  p01 = a0 * (M2_LO >>> 16);
  p10 = a1 * (M2_LO & 0xffff);
  p11 = a1 * (M2_LO >>> 16);
  mid = (p00 >>> 16) + (p01 & 0xffff) + (p10 & 0xffff);
  hi = (p11 + (p01 >>> 16) + (p10 >>> 16) + (mid >>> 16) + Math.imul(hi, M2_LO) + Math.imul(lo, M2_HI)) | 0;
  lo = (mid << 16) | (p00 & 0xffff);
  lo ^= hi >>> 1;
  // (hi·2^32 + lo) mod size, unsigned, exact for size < 2^37: no intermediate exceeds 2^53.
  let r = (hi >>> 0) % size;
  r = (r * 65536 + (lo >>> 16)) % size;
  return (r * 65536 + (lo & 0xffff)) % size;
}

/** FNV-1a 64 of bytes[from, to) continuing from (hi, lo), then as `bucketOf`. */
function bucketOfBytes(hi: number, lo: number, bytes: Uint8Array, from: number, to: number, size: number): number {
  for (let i = from; i < to; i++) {
    lo ^= bytes[i];
    const p = (lo >>> 0) * PRIME_LO;
    hi = (Math.imul(hi, PRIME_LO) + ((p / 4294967296) | 0) + (lo << 8)) | 0;
    lo = p | 0;
  }
  return finish(hi, lo, size);
}

/** Throws unless `fh` is a valid bucket range of the shared table (row 0 is padding). */
export function checkFieldHash(fh: FieldHash): void {
  if (!Number.isInteger(fh.size) || fh.size < 1) throw new CmdcmError(`hash field '${fh.name}': size must be a positive integer, got ${fh.size}`);
  if (!Number.isInteger(fh.offset) || fh.offset < 1) throw new CmdcmError(`hash field '${fh.name}': offset must be an integer >= 1 (row 0 is padding), got ${fh.offset}`);
  if (fh.offset + fh.size - 1 > 0x7fffffff) throw new CmdcmError(`hash field '${fh.name}': offset + size exceeds the int32 range`);
}

/** FNV state after `name + "\x1f"`, shared by every value of the field. */
function prefixState(name: string): [number, number] {
  const enc = Buffer.from(name + '\x1f', 'utf8');
  let hi = BASIS_HI | 0, lo = BASIS_LO | 0;
  for (const b of enc) {
    lo ^= b;
    const p = (lo >>> 0) * PRIME_LO;
    hi = (Math.imul(hi, PRIME_LO) + ((p / 4294967296) | 0) + (lo << 8)) | 0;
    lo = p | 0;
  }
  return [hi, lo];
}

/** The table row of one (field, value). */
export function hashBucket(fh: FieldHash, value: string): number {
  checkFieldHash(fh);
  const [pHi, pLo] = prefixState(fh.name);
  return fh.offset + bucketOf(pHi, pLo, value, fh.size);
}

/** The table rows of many values of one field, TypeScript implementation. */
export function hashVocabTS(fh: FieldHash, values: readonly string[], out?: Int32Array): Int32Array {
  checkFieldHash(fh);
  const n = values.length;
  const res = out ?? new Int32Array(n);
  if (res.length < n) throw new RangeError(`hashVocab: out has ${res.length} entries for ${n} values`);
  const [pHi, pLo] = prefixState(fh.name);
  const { offset, size } = fh;
  for (let i = 0; i < n; i++) res[i] = offset + bucketOf(pHi, pLo, values[i], size);
  return res;
}

/**
 * Lays out per-field bucket ranges contiguously from row 1 (row 0 = padding), in the given order.
 * Returns the `Schema.hash` entries and `tableRows` (max offset + size).
 */
export function layoutHash(fields: ReadonlyArray<{ name: string; size: number }>): { hash: FieldHash[]; tableRows: number } {
  const seen = new Set<string>();
  const hash: FieldHash[] = [];
  let next = 1;
  for (const f of fields) {
    if (seen.has(f.name)) throw new CmdcmError(`hash field '${f.name}' is listed twice`);
    seen.add(f.name);
    const fh = { name: f.name, offset: next, size: f.size };
    checkFieldHash(fh);
    hash.push(fh);
    next += f.size;
  }
  return { hash, tableRows: next };
}

/** Throws unless starts (n + 1 entries) are non-decreasing offsets into bytes. */
export function checkStarts(bytes: Uint8Array, starts: Int32Array): number {
  if (starts.length < 1) throw new RangeError('hashBytes: starts must have n + 1 entries');
  const n = starts.length - 1;
  if (starts[0] < 0 || starts[n] > bytes.length) throw new RangeError('hashBytes: starts must be non-decreasing offsets into bytes');
  for (let i = 0; i < n; i++) if (starts[i + 1] < starts[i]) throw new RangeError('hashBytes: starts must be non-decreasing offsets into bytes');
  return n;
}

/**
 * Table rows of n values given as UTF-8: value i is bytes[starts[i], starts[i + 1]). For a caller
 * that holds its vocabulary as bytes (sliced from the log), so no string is ever built.
 */
export function hashBytesTS(fh: FieldHash, bytes: Uint8Array, starts: Int32Array, out?: Int32Array): Int32Array {
  checkFieldHash(fh);
  const n = checkStarts(bytes, starts);
  const res = out ?? new Int32Array(n);
  if (res.length < n) throw new RangeError(`hashBytes: out has ${res.length} entries for ${n} values`);
  const [pHi, pLo] = prefixState(fh.name);
  const { offset, size } = fh;
  for (let i = 0; i < n; i++) res[i] = offset + bucketOfBytes(pHi, pLo, bytes, starts[i], starts[i + 1], size);
  return res;
}

/** UTF-8 of values as one buffer plus n + 1 starts (the input shape of `hashBytes`). */
export function encodeVocab(values: readonly string[]): { bytes: Uint8Array; starts: Int32Array } {
  const starts = new Int32Array(values.length + 1);
  let total = 0;
  for (let i = 0; i < values.length; i++) {
    starts[i] = total;
    total += Buffer.byteLength(values[i], 'utf8');
  }
  starts[values.length] = total;
  const bytes = Buffer.allocUnsafe(total);
  for (let i = 0; i < values.length; i++) bytes.write(values[i], starts[i], 'utf8');
  return { bytes, starts };
}
