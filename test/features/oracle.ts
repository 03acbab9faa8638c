/**
 * Independent oracles for the feature tests: a BigInt hash over TextEncoder bytes, and packing by a
 * linear scan of every event of the user (no binary search, no shared helper with src/features).
 */
import type { FieldHash } from '../../src/data/batch.js';
import type { PackRequest } from '../../src/features/packing.js';

const MASK = (1n << 64n) - 1n;

export function fnv1a64Big(bytes: Uint8Array): bigint {
  let h = 0xcbf29ce484222325n;
  for (const b of bytes) {
    h ^= BigInt(b);
    h = (h * 0x100000001b3n) & MASK;
  }
  return h;
}

export function fmix64Big(k: bigint): bigint {
  k ^= k >> 33n;
  k = (k * 0xff51afd7ed558ccdn) & MASK;
  k ^= k >> 33n;
  k = (k * 0xc4ceb53fe1a85ec5n) & MASK;
  k ^= k >> 33n;
  return k;
}

const enc = new TextEncoder();

export function hashBucketBig(fh: FieldHash, value: string): number {
  const h = fmix64Big(fnv1a64Big(enc.encode(fh.name + '\x1f' + value)));
  return fh.offset + Number(h % BigInt(fh.size));
}

function bucketOfGap(seconds: number, buckets: number): number {
  let hours = Math.floor(seconds / 3600);
  if (hours === 0) return 0;
  let bits = 0; // floor(log2(hours)) + 1 by repeated halving
  while (hours > 0) {
    hours = Math.floor(hours / 2);
    bits++;
  }
  return Math.min(buckets - 1, bits);
}

export function packOracle(req: PackRequest): { seq: Int32Array; seqLen: Int32Array } {
  const n = req.sampleUser.length, L = req.seqLen;
  const seq = new Int32Array(n * L * 4);
  const seqLen = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const u = req.sampleUser[i], t = req.sampleTime[i];
    const eligible: number[] = [];
    for (let e = req.userStart[u]; e < req.userStart[u + 1]; e++) {
      if (Math.floor(req.time[e] / req.resolution) < Math.floor(t / req.resolution)) eligible.push(e);
    }
    const kept = eligible.slice(Math.max(0, eligible.length - L));
    seqLen[i] = kept.length;
    kept.forEach((e, j) => {
      const o = (i * L + j) * 4;
      seq[o] = req.itemRow[e];
      seq[o + 1] = req.catRow[e];
      seq[o + 2] = req.behaviorOffset + req.behavior[e];
      seq[o + 3] = req.gapOffset + bucketOfGap(t - req.time[e], req.gapBuckets);
    });
  }
  return { seq, seqLen };
}
