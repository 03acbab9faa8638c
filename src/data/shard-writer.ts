import { Worker } from 'node:worker_threads';
import { join } from 'node:path';
import type { GroupedEvents } from './types.js';
import type { Calendar } from './calendar.js';
import type { ItemDayStats } from './stats.js';
import { buildSamples, buildSamplesFromParts, type BuildStats, type EventPart } from './samples.js';
import type { SamplePlan } from './sample-plan.js';
import type { SampleChunk } from './chunks.js';
import { writeShardColumns } from './shards.js';
import type { DatasetMeta } from './dataset.js';

/**
 * The last stage of prepare: samples built per range of users (on this thread, on worker threads,
 * or from the out-of-core runs) and written as shards `shards/p<promo>[t]-<tag><k>.bin` into the
 * prepare's temp directory, with the shard list and build statistics merged for meta.json.
 */

export interface WorkerJob {
  cmdcmPrepareWorker: true;
  g: GroupedEvents;
  cal: Calendar;
  plan: SamplePlan;
  tmp: string;
  tag: string;
  shardSize: number;
  validDays: number;
  asOf: number;
  users: [number, number];
}

export interface ShardsPart { stats: BuildStats; shards: DatasetMeta['shards'] }

/** Build the samples of users `range` and write them as shards `p<promo>-<tag><k>.bin`. */
export async function buildShards(g: GroupedEvents, cal: Calendar, plan: SamplePlan, tmp: string, tag: string, shardSize: number, validDays: number,
  asOf: number, users: [number, number], onProgress?: (eventsDone: number) => void): Promise<ShardsPart> {
  const { sink, shards } = shardSink(cal, tmp, tag);
  const stats = await buildSamples(g, cal, plan, sink, { shardSize, validDays, asOf, users, reuseBuffers: true, onProgress });
  return { stats, shards };
}

/** `buildShards` over the log in parts (the out-of-core path): the same shards as one `buildShards` over it. */
export async function buildShardsFrom(parts: AsyncIterable<EventPart>, resolution: GroupedEvents['resolution'], cal: Calendar, plan: SamplePlan, tmp: string,
  shardSize: number, validDays: number, global: { itemStats: ItemDayStats; lastDay: number; asOf: number }, onProgress?: (eventsDone: number) => void): Promise<ShardsPart> {
  const { sink, shards } = shardSink(cal, tmp, '');
  const stats = await buildSamplesFromParts(parts, resolution, cal, plan, sink,
    { shardSize, validDays, reuseBuffers: true, onProgress, ...global });
  return { stats, shards };
}

function shardSink(cal: Calendar, tmp: string, tag: string): { sink: (chunk: SampleChunk) => Promise<void>; shards: DatasetMeta['shards'] } {
  const shards: DatasetMeta['shards'] = [];
  const counter = new Map<string, number>();
  const sink = async (chunk: SampleChunk) => {
    // the target's test clicks in shards of their own (p<target>t-…): the training shards then do
    // not change with what happens after asOf
    const kind = `p${chunk.promo}${chunk.test ? 't' : ''}`;
    const k = counter.get(kind) ?? 0;
    counter.set(kind, k + 1);
    const file = `shards/${kind}-${tag}${String(k).padStart(4, '0')}.bin`;
    // listed before the write: buildSamples lets two writes overlap, and the list keeps call order
    shards.push({ file, n: chunk.n, promo: chunk.promo, test: chunk.test });
    await writeShardColumns(join(tmp, file), { attrs: { promo: chunk.promo, test: chunk.test, n: chunk.n, promotion: cal.promotions[chunk.promo].date }, columns: chunk.columns });
  };
  return { sink, shards };
}

/** Contiguous user ranges with about equal event counts. */
export function splitUsers(g: GroupedEvents, parts: number): [number, number][] {
  const nUsers = g.userStart.length - 1;
  const out: [number, number][] = [];
  let from = 0;
  for (let p = 1; p <= parts; p++) {
    let to = nUsers;
    if (p < parts) {
      const want = (g.n * p) / parts;
      let lo = from, hi = nUsers;
      while (lo < hi) { const m = (lo + hi) >>> 1; if (g.userStart[m] < want) lo = m + 1; else hi = m; }
      to = lo;
    }
    out.push([from, to]);
    from = to;
  }
  return out;
}

export function mergeStats(all: BuildStats[]): BuildStats {
  const m: BuildStats = JSON.parse(JSON.stringify(all[0]));
  for (const s of all.slice(1)) {
    m.samples += s.samples;
    m.usersWithSamples += s.usersWithSamples;
    s.perPromo.forEach((v, i) => { m.perPromo[i] += v; });
    s.perPromoLate.forEach((v, i) => { m.perPromoLate[i] += v; });
    s.positives.forEach((v, i) => v.forEach((x, t) => { m.positives[i][t] += x; }));
    m.targetTest += s.targetTest;
    s.delayHours.atc.forEach((x, h) => { m.delayHours.atc[h] += x; });
    s.delayHours.direct.forEach((x, h) => { m.delayHours.direct[h] += x; });
  }
  return m;
}

export function runWorker(job: WorkerJob): Promise<ShardsPart> {
  return new Promise((resolve, reject) => {
    // The worker's entry is its own module: a top-level await here would make `require('cmdcm')` fail.
    const w = new Worker(new URL('./prepare-worker.js', import.meta.url), { workerData: job });
    let done = false;
    w.once('message', (r: ShardsPart) => { done = true; resolve(r); });
    w.once('error', reject);
    w.once('exit', (code) => { if (!done) reject(new Error(`prepare worker exited with code ${code}`)); });
  });
}
