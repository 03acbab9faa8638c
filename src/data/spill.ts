import { openSync, closeSync, writeSync, readSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { CmdcmError } from '../util/errors.js';
import type { EventColumns, GroupedEvents, LogFormat, SideField, TimeResolution, Vocabs } from './types.js';
import { SIDE_FIELDS, SECONDS_PER_DAY } from './types.js';
import type { ReadOptions } from './readers/options.js';
import { readLog, type ReadReport } from './readers/read.js';
import { EventStoreBuilder, estimateRows, sortByUserTime, type EventColumn, type LoadProgress } from './events.js';
import { ItemStatsAccumulator, type ItemDayStats } from './stats.js';
import { SeenBefore } from './seen.js';
import type { EventPart } from './samples.js';

/**
 * The out-of-core event store of `prepare`: logs too big for the in-memory columns are read once
 * into a bounded buffer that is drained, whenever it fills, as a "run" file grouped by user; the
 * sample builder then reads back one contiguous range of users at a time.
 *
 * Pass 1 (`loadOrSpill`) keeps only what needs the whole log: the id vocabularies, per-user event
 * counts, per-behavior counts, the time range and the item statistics (ItemStatsAccumulator).
 * Pass 2 (`spilledParts`) cuts the users into consecutive ranges of at most `rangeEvents` events,
 * and for each gathers the range's slice of every run grouped by user. Runs are in file order and
 * keep file order within a user, so each user's events arrive in file order, and the stable
 * (user, time) order of the in-memory path follows exactly: the samples, shards included, are
 * byte-identical to an in-memory prepare. Memory: the buffers of one run or one range, plus
 * per-user and per-item state; disk: 12 bytes an event (+4 per side field) in the temp dir.
 *
 * Run file, row-major int32 little-endian, one row per event in (user, file order) order:
 *   item, time, category | behavior << 30, then one word per side field the run has (-1: missing).
 * Beside it `<run>.idx`: int32 CSR offsets of the run's users (the users interned so far + 1).
 */

/**
 * Bytes per event of the in-memory path at its peak (columns, radix scratch, item statistics),
 * measured as the peak RSS slope over log sizes. The first run buffer doubles as the in-memory
 * store, so a log stays in memory while it fits the budget at this rate.
 */
export const MEMORY_BYTES_PER_EVENT = 44;
/**
 * Bytes per event of one pass-2 range: 17 of columns (+4 per side field), 11 of radix scratch when
 * some user's events are out of time order, and slack.
 */
export const RANGE_BYTES_PER_EVENT = 40;

export interface SpillTuning {
  /** drain the in-memory columns into a run every this many events */
  runEvents: number;
  /** events per pass-2 user range, at most (a single bigger user gets a range of its own) */
  rangeEvents: number;
  /** item x query-day cells above which item statistics use a hash table (test hook) */
  denseCells?: number;
}

/** Run and range sizes for a memory budget in MB (what the event buffers may take). */
export function tuningFor(budgetMB: number): SpillTuning {
  const bytes = budgetMB * 2 ** 20;
  return {
    runEvents: Math.max(1 << 16, Math.floor(bytes / MEMORY_BYTES_PER_EVENT)),
    rangeEvents: Math.max(1 << 16, Math.floor(bytes / RANGE_BYTES_PER_EVENT)),
  };
}

interface RunInfo {
  file: string;
  n: number;
  /** users interned when the run was written: its CSR has nUsers + 1 entries */
  nUsers: number;
  sideFields: SideField[];
}

/** The log after pass 1 of the out-of-core path. */
export interface SpilledEvents {
  dir: string;
  runs: RunInfo[];
  n: number;
  nUsers: number;
  userEvents: Int32Array;
  vocab: Vocabs;
  resolution: TimeResolution;
  format: LogFormat;
  sideFields: SideField[];
  minT: number;
  maxT: number;
  perBehavior: number[];
  itemStats: ItemDayStats;
  /** the ids in events before `SpillLoadOptions.asOf` */
  seenBefore: SeenBefore;
}

export type LoadedEvents = { kind: 'memory'; events: GroupedEvents; reports: ReadReport[] } | { kind: 'spilled'; spilled: SpilledEvents; reports: ReadReport[] };

export interface SpillLoadOptions {
  /** 'auto': spill only once the log outgrows `tuning.runEvents`; 'always': spill even a small log */
  mode: 'auto' | 'always';
  tuning: SpillTuning;
  /** where run files go (created; the caller removes it) */
  dir: string;
  /** the days item statistics are asked about (every pre-window day) and historical promotion days */
  queryDays: number[];
  promoDays: number[];
  /** the as-of serving time (local seconds): ids seen before it are counted (SeenBefore) */
  asOf: number;
  onProgress?: (p: LoadProgress) => void;
}

/**
 * Pass 1: reads the logs like `loadEvents` (same readers, bad-row accounting and id interning);
 * in 'auto' mode a log that fits in one run is returned in memory as `loadEvents` would.
 */
export async function loadOrSpill(files: string[], readOpts: ReadOptions, opts: SpillLoadOptions): Promise<LoadedEvents> {
  if (files.length === 0) throw new CmdcmError('no log files given');
  const { runEvents } = opts.tuning;
  const b = new EventStoreBuilder(Math.min(await estimateRows(files), runEvents), runEvents);
  const reports: ReadReport[] = [];
  let sp: Spiller | undefined;
  const drain = () => {
    sp ??= new Spiller(opts);
    b.drainRun((cols, nUsers) => sp!.writeRun(cols, nUsers));
  };
  // between two rows, so a run never holds more than runEvents (plus one native batch of rows)
  b.onFull = drain;
  for (let fi = 0; fi < files.length; fi++) {
    const before = sp ? sp.n + b.n : b.n;
    reports.push(await readLog(files[fi], readOpts, b, opts.onProgress && ((p) => opts.onProgress!({ ...p, fileIndex: fi, files: files.length, events: before + p.rows }))));
  }
  if (!sp && opts.mode === 'auto') return { kind: 'memory', events: b.finish(), reports };
  if (b.n > 0 || !sp) drain();
  const head = b.header();
  return { kind: 'spilled', spilled: sp!.finish(head), reports };
}

class Spiller {
  n = 0;
  runs: RunInfo[] = [];
  userEvents = new Int32Array(1024);
  minT = Infinity;
  maxT = -Infinity;
  perBehavior = [0, 0, 0, 0];
  private items: ItemStatsAccumulator;
  private seen: SeenBefore;
  private buf = Buffer.alloc(0);
  private nItems = 0;

  readonly dir: string;

  constructor(opts: SpillLoadOptions) {
    this.dir = opts.dir;
    mkdirSync(this.dir, { recursive: true });
    this.items = new ItemStatsAccumulator(opts.queryDays, opts.promoDays, opts.tuning.denseCells);
    this.seen = new SeenBefore(opts.asOf);
  }

  /**
   * Records the run's global counts and writes it out grouped by user: one counting pass gives
   * each user's offset in the run, and each event is written straight to its user's next slot
   * (file order kept within a user), so no sort is needed.
   */
  writeRun(cols: EventColumns, nUsers: number): void {
    const n = cols.n;
    const { user, item, time, behavior, category } = cols;
    if (this.userEvents.length < nUsers) {
      const u = new Int32Array(Math.max(nUsers, this.userEvents.length * 2));
      u.set(this.userEvents);
      this.userEvents = u;
    }
    const ue = this.userEvents, pb = this.perBehavior;
    // the run's CSR: counts, then offsets; `cursor` walks each user's slots
    const userStart = new Int32Array(nUsers + 1);
    let minT = this.minT, maxT = this.maxT, nItems = this.nItems;
    for (let k = 0; k < n; k++) {
      const u = user[k];
      userStart[u + 1]++;
      pb[behavior[k]]++;
      const t = time[k];
      if (t < minT) minT = t;
      if (t > maxT) maxT = t;
      if (item[k] >= nItems) nItems = item[k] + 1;
      if (category[k] >= 1 << 30) throw new CmdcmError('more than 2^30 distinct categories: the out-of-core prepare cannot store them');
    }
    this.minT = minT; this.maxT = maxT; this.nItems = nItems;
    for (let u = 0; u < nUsers; u++) { ue[u] += userStart[u + 1]; userStart[u + 1] += userStart[u]; }
    this.items.add(item, time, behavior, n);
    this.seen.add(cols, n);

    const sideFields = SIDE_FIELDS.filter((f) => cols[f]);
    const side = sideFields.map((f) => cols[f]!);
    const W = 3 + side.length;
    if (this.buf.length < n * W * 4) this.buf = Buffer.alloc(Math.max(n * W * 4, Math.floor(this.buf.length * 1.25)));
    const words = new Int32Array(this.buf.buffer, this.buf.byteOffset, n * W);
    const cursor = userStart.slice(0, nUsers);
    for (let k = 0; k < n; k++) {
      const o = cursor[user[k]]++ * W;
      words[o] = item[k]; words[o + 1] = time[k]; words[o + 2] = category[k] | (behavior[k] << 30);
      for (let q = 0; q < side.length; q++) words[o + 3 + q] = side[q][k];
    }
    const file = join(this.dir, `run-${String(this.runs.length).padStart(5, '0')}`);
    writeFile(file, this.buf, n * W * 4);
    writeFile(file + '.idx', Buffer.from(userStart.buffer, userStart.byteOffset, userStart.byteLength), userStart.byteLength);
    this.runs.push({ file, n, nUsers, sideFields });
    this.n += n;
  }

  finish(head: { vocab: Vocabs; resolution: TimeResolution; format: LogFormat; sideFields: SideField[] }): SpilledEvents {
    const nUsers = head.vocab.user.length;
    const userEvents = new Int32Array(nUsers);
    userEvents.set(this.userEvents.subarray(0, nUsers));
    return {
      dir: this.dir, runs: this.runs, n: this.n, nUsers, userEvents,
      vocab: head.vocab, resolution: head.resolution, format: head.format, sideFields: head.sideFields,
      minT: this.minT, maxT: this.maxT, perBehavior: this.perBehavior,
      itemStats: this.items.finish(Math.max(head.vocab.item.length, this.nItems)),
      seenBefore: this.seen,
    };
  }
}

function writeFile(file: string, buf: Buffer, len: number): void {
  let fd: number | undefined;
  try {
    fd = openSync(file, 'w');
    let off = 0;
    while (off < len) off += writeSync(fd, buf, off, len - off);
  } catch (e) {
    throw new CmdcmError(`cannot write the out-of-core prepare's temp file ${file}: ${(e as Error).message}`);
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

function readAll(fd: number, buf: Buffer, len: number, pos: number, file: string): void {
  let off = 0;
  while (off < len) {
    const got = readSync(fd, buf, off, len - off, pos + off);
    if (got === 0) throw new CmdcmError(`${file}: temp file of the out-of-core prepare is truncated`);
    off += got;
  }
}

/** Consecutive user ranges of at most `rangeEvents` events each (a bigger user alone). */
export function userRanges(userEvents: Int32Array, rangeEvents: number): [number, number][] {
  const out: [number, number][] = [];
  const nUsers = userEvents.length;
  let from = 0, acc = 0;
  for (let u = 0; u < nUsers; u++) {
    const c = userEvents[u];
    if (u > from && acc + c > rangeEvents) { out.push([from, u]); from = u; acc = 0; }
    acc += c;
  }
  if (from < nUsers) out.push([from, nUsers]);
  return out;
}

/**
 * Pass 2: the log as parts of consecutive users, each grouped by user and sorted by time like
 * `EventStoreBuilder.finish` (user indices stay global; `g.userStart` spans all users).
 *
 * Each run's slice of a user goes straight to that user's next slots (runs in file order), which
 * groups the range by user in file order without a sort; only a range in which some user's
 * events are out of time order is then sorted (stable, so the result is the same).
 */
export async function* spilledParts(s: SpilledEvents, rangeEvents: number): AsyncGenerator<EventPart> {
  const fds = s.runs.map((r) => ({ ev: openSync(r.file, 'r'), idx: openSync(r.file + '.idx', 'r') }));
  try {
    const STEP = 1 << 16;
    let buf = Buffer.alloc(0);
    const ranges = userRanges(s.userEvents, rangeEvents);
    // one set of columns for the biggest range, reused: a fresh set per range would leave the
    // previous one to the garbage collector while the next is filled
    let cap = 0;
    for (const [a, b] of ranges) {
      let m = 0;
      for (let u = a; u < b; u++) m += s.userEvents[u];
      if (m > cap) cap = m;
    }
    const store = {
      user: new Int32Array(cap), time: new Int32Array(cap), item: new Int32Array(cap), category: new Int32Array(cap),
      behavior: new Uint8Array(cap), side: Object.fromEntries(s.sideFields.map((f) => [f, new Int32Array(cap)])) as Partial<Record<SideField, Int32Array>>,
    };
    for (const [a, b] of ranges) {
      const userStart = new Int32Array(s.nUsers + 1);
      for (let u = a; u < b; u++) userStart[u + 1] = userStart[u] + s.userEvents[u];
      const m = userStart[b];
      userStart.fill(m, b + 1);
      const user = store.user.subarray(0, m), time = store.time.subarray(0, m), item = store.item.subarray(0, m);
      const category = store.category.subarray(0, m), behavior = store.behavior.subarray(0, m);
      const side: Partial<Record<SideField, Int32Array>> = {};
      for (const f of s.sideFields) side[f] = store.side[f]!.subarray(0, m).fill(-1);
      for (let u = a; u < b; u++) user.fill(u, userStart[u], userStart[u + 1]);
      const cursor = userStart.slice(a, b);
      for (let r = 0; r < s.runs.length; r++) {
        const run = s.runs[r];
        if (a >= run.nUsers) continue;
        const hi = Math.min(b, run.nUsers);
        // the run's CSR offsets of users a..hi
        const cnt = hi - a + 1;
        if (buf.length < cnt * 4) buf = Buffer.alloc(Math.max(cnt * 4, buf.length * 2));
        readAll(fds[r].idx, buf, cnt * 4, a * 4, run.file + '.idx');
        const off = new Int32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + cnt * 4));
        const W = 3 + run.sideFields.length;
        const sideCols = run.sideFields.map((f) => side[f]!);
        if (buf.length < STEP * W * 4) buf = Buffer.alloc(STEP * W * 4);
        // walk the run's slice in steps, each event to its user's next slot
        let u = a;
        for (let from = off[0], end = off[cnt - 1]; from < end; from += STEP) {
          const to = Math.min(end, from + STEP);
          readAll(fds[r].ev, buf, (to - from) * W * 4, from * W * 4, run.file);
          const w = new Int32Array(buf.buffer, buf.byteOffset, (to - from) * W);
          for (let e = from, o = 0; e < to; e++, o += W) {
            while (e >= off[u - a + 1]) u++;
            const p = cursor[u - a]++;
            item[p] = w[o]; time[p] = w[o + 1];
            const c = w[o + 2];
            category[p] = c & 0x3fffffff;
            behavior[p] = c >>> 30;
            for (let q = 0; q < sideCols.length; q++) sideCols[q][p] = w[o + 3 + q];
          }
        }
      }
      for (let u = a; u < b; u++) {
        if (cursor[u - a] !== userStart[u + 1]) throw new CmdcmError(`${s.dir}: temp files of the out-of-core prepare hold a different number of events of user ${u} than counted`);
      }
      let ordered = true;
      for (let u = a; u < b && ordered; u++) {
        for (let k = userStart[u] + 1, e = userStart[u + 1]; k < e; k++) if (time[k] < time[k - 1]) { ordered = false; break; }
      }
      const cols: EventColumn[] = [user, time, item, category, behavior, ...s.sideFields.map((f) => side[f]!)];
      // stable, and the input is grouped already: same order as sorting the whole log at once
      if (!ordered) sortByUserTime(cols, m, s.nUsers);
      const g: GroupedEvents = {
        n: m, user: cols[0] as Int32Array, time: cols[1] as Int32Array, item: cols[2] as Int32Array, category: cols[3] as Int32Array,
        behavior: cols[4] as Uint8Array, userStart, vocab: { user: [], item: [], category: [] }, resolution: s.resolution, format: s.format,
      };
      s.sideFields.forEach((f, k) => { g[f] = cols[5 + k] as Int32Array; });
      yield { g, users: [a, b] };
    }
  } finally {
    for (const f of fds) { closeSync(f.ev); closeSync(f.idx); }
  }
}

/** The last day of the log (for whether the target's outcome is known). */
export function lastDayOf(s: SpilledEvents): number {
  return Math.floor(s.maxT / SECONDS_PER_DAY);
}
