/**
 * Feature hashing + sequence packing throughput, addon vs TypeScript, on one synthetic workload:
 * prints one JSON line. `benchFeatures` is also called by bench/prepare.ts.
 *
 *   node dist/bench/features.js [--ids N] [--events N] [--samples N] [--users N] [--seq-len L] [--chunk N]
 *
 * Hashing: `ids` distinct 6-9 digit id strings (the shape of the public logs' ids), hashed once
 * each as prepare does with a vocabulary. Packing: `events` events of `users` users (skewed
 * activity, hour-resolution times over 30 days), `samples` clicks drawn from them in user order,
 * packed in chunks of `chunk` samples into one reused output (as prepare fills a shard).
 */
import { fileURLToPath } from 'node:url';
import {
  hashVocabNative, hashVocabTS, nativeFeaturesAvailable, packSequencesNative, packSequencesTS,
  type PackedSequences, type PackRequest,
} from '../src/features/index.js';

export interface FeatureBenchOptions {
  ids?: number;
  events?: number;
  samples?: number;
  users?: number;
  seqLen?: number;
  chunk?: number;
  seed?: number;
}

export interface FeatureBenchResult {
  bench: 'features';
  ids: number;
  events: number;
  samples: number;
  users: number;
  seqLen: number;
  meanPacked: number;
  native: boolean;
  ts: { hashStringsPerSec: number; packSamplesPerSec: number; hashSec: number; packSec: number; totalSec: number };
  nativeFigures?: { hashStringsPerSec: number; packSamplesPerSec: number; hashSec: number; packSec: number; totalSec: number };
  /** TS time / addon time for each part and for hashing + packing together. */
  ratio?: { hash: number; pack: number; total: number };
  identical?: boolean;
}

function rand(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function makeIds(n: number, r: () => number): string[] {
  const seen = new Set<string>();
  const ids: string[] = [];
  while (ids.length < n) {
    const s = String(Math.floor(100000 + r() * 999_900_000));
    if (!seen.has(s)) {
      seen.add(s);
      ids.push(s);
    }
  }
  return ids;
}

function makeRequest(o: Required<FeatureBenchOptions>, r: () => number): PackRequest {
  // Skewed activity: weight ~ 1/(rank+10), so a few users have thousands of events.
  const w = new Float64Array(o.users);
  let sum = 0;
  for (let u = 0; u < o.users; u++) sum += w[u] = 1 / (u + 10) + 1 / o.users;
  const userStart = new Int32Array(o.users + 1);
  let acc = 0;
  for (let u = 0; u < o.users; u++) {
    userStart[u] = Math.round((acc / sum) * o.events);
    acc += w[u];
  }
  userStart[o.users] = o.events;
  const t0 = 1_416_000_000 - (1_416_000_000 % 86400);
  const time = new Int32Array(o.events);
  for (let u = 0; u < o.users; u++) {
    const lo = userStart[u], hi = userStart[u + 1];
    for (let e = lo; e < hi; e++) time[e] = t0 + Math.floor(r() * 30 * 24) * 3600;
    time.subarray(lo, hi).sort();
  }
  const itemRow = Int32Array.from({ length: o.events }, () => 1 + Math.floor(r() * 1_000_000));
  const catRow = Int32Array.from({ length: o.events }, () => 1_000_001 + Math.floor(r() * 10_000));
  const behavior = Uint8Array.from({ length: o.events }, () => { const p = r(); return p < 0.9 ? 0 : p < 0.93 ? 1 : p < 0.98 ? 2 : 3; });
  // Samples: a uniform subset of the events, in event (= user, then time) order.
  const sampleUser = new Int32Array(o.samples), sampleTime = new Int32Array(o.samples);
  let i = 0, u = 0;
  for (let e = 0; e < o.events && i < o.samples; e++) {
    if (r() * (o.events - e) < o.samples - i) {
      while (userStart[u + 1] <= e) u++;
      sampleUser[i] = u;
      sampleTime[i++] = time[e];
    }
  }
  return { time, itemRow, catRow, behavior, userStart, sampleUser, sampleTime, seqLen: o.seqLen, resolution: 3600, behaviorOffset: 1_011_001, gapOffset: 1_011_005, gapBuckets: 16 };
}

type Packer = (req: PackRequest, out?: PackedSequences) => PackedSequences;

/** Packs all samples chunk by chunk; returns seconds and a checksum over every chunk. */
function packAll(pack: Packer, req: PackRequest, chunk: number): { sec: number; sum: number; packed: number } {
  const n = req.sampleUser.length, L = req.seqLen;
  const out = { seq: new Int32Array(chunk * L * 4), seqLen: new Int32Array(chunk) };
  let sum = 0, packed = 0;
  const t = performance.now();
  for (let s = 0; s < n; s += chunk) {
    const m = Math.min(chunk, n - s);
    const part = { ...req, sampleUser: req.sampleUser.subarray(s, s + m), sampleTime: req.sampleTime.subarray(s, s + m) };
    pack(part, out);
    // A cheap fingerprint of each chunk, outside the timed work's hot loop but inside the timing
    // for both implementations alike, so the comparison stays fair and the results are checked.
    for (let i = 0; i < m; i++) {
      packed += out.seqLen[i];
      sum = (sum + out.seq[i * L * 4 + 3] * 31 + out.seqLen[i]) | 0;
    }
  }
  return { sec: (performance.now() - t) / 1000, sum, packed };
}

function timeHash(fn: () => Int32Array): { sec: number; rows: Int32Array } {
  const t = performance.now();
  const rows = fn();
  return { sec: (performance.now() - t) / 1000, rows };
}

export function benchFeatures(opts: FeatureBenchOptions = {}): FeatureBenchResult {
  const o: Required<FeatureBenchOptions> = {
    ids: 1_000_000, events: 5_000_000, samples: 1_000_000, users: 100_000, seqLen: 50, chunk: 65_536, seed: 7, ...opts,
  };
  const r = rand(o.seed);
  const ids = makeIds(o.ids, r);
  const req = makeRequest(o, r);
  const fh = { name: 'item', offset: 1, size: 1_000_000 };

  // A small warm-up of each path so the JIT is not timed.
  hashVocabTS(fh, ids.slice(0, 20_000));
  packAll(packSequencesTS, { ...req, sampleUser: req.sampleUser.subarray(0, 20_000), sampleTime: req.sampleTime.subarray(0, 20_000) }, o.chunk);

  const tsHash = timeHash(() => hashVocabTS(fh, ids));
  const tsPack = packAll(packSequencesTS, req, o.chunk);
  const figures = (hashSec: number, packSec: number) => ({
    hashStringsPerSec: Math.round(o.ids / hashSec),
    packSamplesPerSec: Math.round(o.samples / packSec),
    hashSec: +hashSec.toFixed(4),
    packSec: +packSec.toFixed(4),
    totalSec: +(hashSec + packSec).toFixed(4),
  });
  const result: FeatureBenchResult = {
    bench: 'features', ids: o.ids, events: o.events, samples: o.samples, users: o.users, seqLen: o.seqLen,
    meanPacked: +(tsPack.packed / Math.max(1, o.samples)).toFixed(2),
    native: nativeFeaturesAvailable(),
    ts: figures(tsHash.sec, tsPack.sec),
  };
  if (result.native) {
    hashVocabNative(fh, ids.slice(0, 20_000));
    const natHash = timeHash(() => hashVocabNative(fh, ids));
    const natPack = packAll(packSequencesNative, req, o.chunk);
    result.nativeFigures = figures(natHash.sec, natPack.sec);
    result.ratio = {
      hash: +(tsHash.sec / natHash.sec).toFixed(2),
      pack: +(tsPack.sec / natPack.sec).toFixed(2),
      total: +((tsHash.sec + tsPack.sec) / (natHash.sec + natPack.sec)).toFixed(2),
    };
    let same = natPack.sum === tsPack.sum && natPack.packed === tsPack.packed;
    for (let i = 0; i < o.ids && same; i++) same = natHash.rows[i] === tsHash.rows[i];
    result.identical = same;
  }
  return result;
}

function parseArgs(argv: string[]): FeatureBenchOptions {
  const keys: Record<string, keyof FeatureBenchOptions> = {
    '--ids': 'ids', '--events': 'events', '--samples': 'samples', '--users': 'users', '--seq-len': 'seqLen', '--chunk': 'chunk', '--seed': 'seed',
  };
  const o: FeatureBenchOptions = {};
  for (let i = 0; i < argv.length; i += 2) {
    const k = keys[argv[i]];
    const v = Number(argv[i + 1]);
    if (!k || !Number.isInteger(v) || v < 1) throw new Error(`bench/features: bad argument ${argv[i]} ${argv[i + 1] ?? ''}`);
    o[k] = v;
  }
  return o;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  console.log(JSON.stringify(benchFeatures(parseArgs(process.argv.slice(2)))));
}
