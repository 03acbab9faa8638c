import { promises as fsp } from 'node:fs';
import { CmdcmError } from '../util/errors.js';
import type { EventColumns, GroupedEvents, LogEvent, LogFormat, SideField, TimeResolution, Vocabs } from './types.js';
import { SIDE_FIELDS } from './types.js';
import type { ReadOptions } from './readers/options.js';
import { readLog, type ReadProgress, type ReadReport, type RowBatch, type RowSink } from './readers/read.js';
import { IdInterner, numericId } from './readers/intern.js';
import { R_BRAND, R_GEOHASH, R_SELLER, type RowSpec } from './readers/spec.js';
import { sortByUserTime, type EventColumn } from './grouping.js';

export { sortByUserTime, groupPermutation, type EventColumn } from './grouping.js';

/**
 * The columnar event store: logs → compact columns (17 bytes per event plus 4 per side field),
 * ids interned per field (see readers/intern.ts for the one normalization applied), then grouped
 * by user (CSR) with a stable time sort within each user. Input order is arbitrary: public logs
 * interleave users and are not time-sorted.
 */

const RES_ORDER: TimeResolution[] = ['second', 'hour', 'day'];

/** The coarser of two resolutions: mixing logs must not claim a precision one of them lacks. */
export function coarserResolution(a: TimeResolution, b: TimeResolution): TimeResolution {
  return RES_ORDER[Math.max(RES_ORDER.indexOf(a), RES_ORDER.indexOf(b))];
}

const SIDE_ROLE: Record<SideField, number> = { seller: R_SELLER, brand: R_BRAND, geohash: R_GEOHASH };
const INT32_MAX = 2147483647;

/** Accumulates events (from readers as byte ranges, or as LogEvent objects) into growing columns. */
export class EventStoreBuilder implements RowSink {
  n = 0;
  private cap: number;
  private user: Int32Array;
  private item: Int32Array;
  private category: Int32Array;
  private behavior: Uint8Array;
  private time: Int32Array;
  private side: Partial<Record<SideField, Int32Array>> = {};
  readonly interners = {
    user: new IdInterner(), item: new IdInterner(), category: new IdInterner(),
    seller: new IdInterner(), brand: new IdInterner(), geohash: new IdInterner(),
  };
  private formats = new Set<LogFormat>();
  private resolution: TimeResolution | undefined;
  /** side columns of the current file, by role; others are filled with -1 */
  private sideNow: { col: Int32Array | undefined; role: number; interner: IdInterner; field: SideField }[] = [];
  /** rows whose user/item/category keys await interning (see `row`) */
  private pn = 0;
  private pUser = new Float64Array(1 << 15);
  private pItem = new Float64Array(1 << 15);
  private pCat = new Float64Array(1 << 15);
  private pStr: string[] = [];

  /**
   * Called (synchronously, between rows) when the columns hold `maxCapacity` events and more
   * arrive: the out-of-core prepare drains them into a run file there (`drainRun`).
   */
  onFull?: () => void;

  /**
   * `maxCapacity` caps the columns' growth (they grow past it only for one batch of rows when
   * `onFull` is unset or does not drain them).
   */
  constructor(initialCapacity = 1 << 16, private readonly maxCapacity = Infinity) {
    this.cap = Math.max(16, initialCapacity);
    this.user = new Int32Array(this.cap);
    this.item = new Int32Array(this.cap);
    this.category = new Int32Array(this.cap);
    this.behavior = new Uint8Array(this.cap);
    this.time = new Int32Array(this.cap);
  }

  /** Declares the format of the rows that follow (readers call it per file). */
  begin(spec: RowSpec): void {
    this.noteFormat(spec.format, spec.resolution);
    for (const f of spec.sideFields) this.ensureSide(f);
    this.sideNow = spec.sideFields.map((f) => ({ col: this.side[f], role: SIDE_ROLE[f], interner: this.interners[f], field: f }));
  }

  noteFormat(format: LogFormat, resolution: TimeResolution): void {
    this.formats.add(format);
    this.resolution = this.resolution ? coarserResolution(this.resolution, resolution) : resolution;
  }

  private ensureSide(f: SideField): Int32Array {
    let col = this.side[f];
    if (!col) {
      col = new Int32Array(this.cap).fill(-1);
      this.side[f] = col;
    }
    return col;
  }

  private grow(need = this.cap + 1): void {
    // doubling while small, then 1.5×: tens of millions of events must not overshoot memory by 2×
    const want = this.cap < 1 << 24 ? this.cap * 2 : Math.floor(this.cap * 1.5);
    const cap = Math.max(need, Math.min(want, this.maxCapacity));
    const g32 = (a: Int32Array, fill?: number) => {
      const b = new Int32Array(cap);
      b.set(a);
      if (fill !== undefined) b.fill(fill, a.length);
      return b;
    };
    this.user = g32(this.user);
    this.item = g32(this.item);
    this.category = g32(this.category);
    this.time = g32(this.time);
    const b = new Uint8Array(cap);
    b.set(this.behavior);
    this.behavior = b;
    for (const f of SIDE_FIELDS) if (this.side[f]) this.side[f] = g32(this.side[f]!, -1);
    for (const s of this.sideNow) s.col = this.side[s.field];
    this.cap = cap;
  }

  /**
   * Rows from readers: the user/item/category ids are only parsed to numeric keys here and interned
   * per chunk in `endChunk`. A tight loop over a batch of keys lets the CPU overlap the cache misses
   * of big hash tables, which a lookup buried in each row's parsing cannot (≈3× faster measured).
   */
  row(buf: Buffer, ids: Int32Array, behavior: number, time: number): void {
    if (this.n >= this.maxCapacity && this.onFull) this.onFull();
    if (this.n === this.cap) this.grow();
    const i = this.n++;
    const k = this.pn++;
    if (k === this.pUser.length) this.growPending();
    this.pUser[k] = this.key(buf, ids[0], ids[1]);
    this.pItem[k] = this.key(buf, ids[2], ids[3]);
    this.pCat[k] = this.key(buf, ids[4], ids[5]);
    this.behavior[i] = behavior;
    this.time[i] = time;
    const side = this.sideNow;
    for (let j = 0; j < side.length; j++) {
      const sd = side[j];
      const s = ids[2 * sd.role], e = ids[2 * sd.role + 1];
      sd.col![i] = s < e ? sd.interner.internBytes(buf, s, e) : -1;
    }
  }

  /**
   * `row` for a batch the addon scanned: its numeric keys are interned straight from the batch
   * (rows still pending from `row` first, so indices stay first-seen in row order).
   */
  rows(buf: Buffer, batch: RowBatch): void {
    this.endChunk();
    const m = batch.n;
    if (this.onFull && this.n > 0 && this.n + m > this.maxCapacity) this.onFull();
    if (this.n + m > this.cap) this.grow(this.n + m);
    const { keys, off, beh, time } = batch;
    const base = this.n, bcol = this.behavior, tcol = this.time;
    for (let k = 0; k < m; k++) {
      // ids that are not plain integers become references to their strings (see `key`)
      if (keys[3 * k] < 0) keys[3 * k] = this.strKey(buf, off[12 * k], off[12 * k + 1]);
      if (keys[3 * k + 1] < 0) keys[3 * k + 1] = this.strKey(buf, off[12 * k + 2], off[12 * k + 3]);
      if (keys[3 * k + 2] < 0) keys[3 * k + 2] = this.strKey(buf, off[12 * k + 4], off[12 * k + 5]);
      bcol[base + k] = beh[k];
      tcol[base + k] = time[k];
    }
    const side = this.sideNow;
    for (let j = 0; j < side.length; j++) {
      const sd = side[j], col = sd.col!, it = sd.interner, o = 2 * sd.role;
      for (let k = 0; k < m; k++) {
        const s = off[12 * k + o], e = off[12 * k + o + 1];
        col[base + k] = s < e ? it.internBytes(buf, s, e) : -1;
      }
    }
    const strs = this.pStr;
    this.interners.user.internBatch(keys, m, this.user, base, strs, 3, 0);
    this.interners.item.internBatch(keys, m, this.item, base, strs, 3, 1);
    this.interners.category.internBatch(keys, m, this.category, base, strs, 3, 2);
    this.pStr = [];
    this.n += m;
  }

  private strKey(buf: Buffer, s: number, e: number): number {
    this.pStr.push(buf.toString('utf8', s, e));
    return -this.pStr.length;
  }

  /** numeric id value (>= 0), or -(1 + index) of the id string kept in pStr */
  private key(buf: Buffer, s: number, e: number): number {
    const v = numericId(buf, s, e);
    if (v >= 0) return v;
    this.pStr.push(buf.toString('utf8', s, e));
    return -this.pStr.length;
  }

  private growPending(): void {
    const g = (a: Float64Array) => { const b = new Float64Array(a.length * 2); b.set(a); return b; };
    this.pUser = g(this.pUser);
    this.pItem = g(this.pItem);
    this.pCat = g(this.pCat);
  }

  /** Interns the ids of the rows since the last call, in row order (so indices stay first-seen). */
  endChunk(): void {
    const m = this.pn;
    if (m === 0) return;
    const base = this.n - m;
    const strs = this.pStr;
    this.interners.user.internBatch(this.pUser, m, this.user, base, strs);
    this.interners.item.internBatch(this.pItem, m, this.item, base, strs);
    this.interners.category.internBatch(this.pCat, m, this.category, base, strs);
    this.pn = 0;
    this.pStr = [];
  }

  /** Adds one event object; `where` names it in errors (e.g. 'event 12'). */
  addEvent(ev: LogEvent, where = `event ${this.n}`): void {
    if (!ev || typeof ev !== 'object') throw new CmdcmError(`${where}: not an event object`);
    for (const k of ['user', 'item', 'category'] as const) {
      if (typeof ev[k] !== 'string' || ev[k].length === 0) throw new CmdcmError(`${where}: '${k}' must be a non-empty string`);
    }
    if (ev.behavior !== 0 && ev.behavior !== 1 && ev.behavior !== 2 && ev.behavior !== 3) throw new CmdcmError(`${where}: behavior must be 0..3 (click, collect, cart, buy), got ${String(ev.behavior)}`);
    if (!Number.isInteger(ev.time) || Math.abs(ev.time) > INT32_MAX) throw new CmdcmError(`${where}: time must be integer local seconds, got ${String(ev.time)}`);
    this.endChunk();
    if (this.n === this.cap) this.grow();
    const i = this.n++;
    const it = this.interners;
    this.user[i] = it.user.internString(ev.user);
    this.item[i] = it.item.internString(ev.item);
    this.category[i] = it.category.internString(ev.category);
    this.behavior[i] = ev.behavior;
    this.time[i] = ev.time;
    for (const f of SIDE_FIELDS) {
      const v = ev[f];
      if (v === undefined || v === '') continue;
      if (typeof v !== 'string') throw new CmdcmError(`${where}: '${f}' must be a string`);
      this.ensureSide(f)[i] = it[f].internString(v);
    }
  }

  /**
   * Hands the columns of the events so far (views, valid only during the call) to `consume`, then
   * empties the store but keeps its ids interned and its buffers: the out-of-core prepare writes
   * them out as one run and reads on.
   */
  drainRun(consume: (cols: EventColumns, nUsers: number) => void): void {
    this.endChunk();
    const n = this.n;
    consume(this.snapshot(false), this.interners.user.size);
    // rows of a later file without this side field rely on the -1 fill
    for (const f of SIDE_FIELDS) this.side[f]?.fill(-1, 0, n);
    this.n = 0;
  }

  /** What `finish` would describe besides the columns: vocabularies, clock, side fields seen. */
  header(): { vocab: Vocabs; resolution: TimeResolution; format: LogFormat; sideFields: SideField[] } {
    this.endChunk();
    const sideFields = SIDE_FIELDS.filter((f) => this.side[f]);
    const vocab: Vocabs = { user: this.interners.user.strings(), item: this.interners.item.strings(), category: this.interners.category.strings() };
    for (const f of sideFields) vocab[f] = this.interners[f].strings();
    return { vocab, resolution: this.resolution ?? 'second', format: this.formats.size === 1 ? [...this.formats][0] : 'generic', sideFields };
  }

  /** The raw (ungrouped) columns so far, trimmed to n. */
  columns(): EventColumns {
    this.endChunk();
    return this.snapshot(true);
  }

  /** The first n events' columns: copies, or views into the growing buffers. */
  private snapshot(copy: boolean): EventColumns {
    const n = this.n;
    const cut = <T extends Int32Array | Uint8Array>(a: T): T => (copy ? a.slice(0, n) : a.subarray(0, n)) as T;
    const cols: EventColumns = { n, user: cut(this.user), item: cut(this.item), category: cut(this.category), behavior: cut(this.behavior), time: cut(this.time) };
    for (const f of SIDE_FIELDS) if (this.side[f]) cols[f] = cut(this.side[f]!);
    return cols;
  }

  /** Groups by user and sorts by time; the builder must not be used afterwards. */
  finish(): GroupedEvents {
    this.endChunk();
    const n = this.n;
    const nUsers = this.interners.user.size;
    const sideFields = SIDE_FIELDS.filter((f) => this.side[f]);
    // views, not copies: the sort's first pass moves the events into fresh arrays of exactly n, so
    // the growable columns are dropped after it (a copy here would add 17+ bytes an event to the peak)
    const cols: EventColumn[] = [this.user.subarray(0, n), this.time.subarray(0, n), this.item.subarray(0, n), this.category.subarray(0, n),
      this.behavior.subarray(0, n), ...sideFields.map((f) => this.side[f]!.subarray(0, n))];
    this.user = this.item = this.category = this.time = new Int32Array(0);
    this.behavior = new Uint8Array(0);
    this.side = {};
    const { userStart } = sortByUserTime(cols, n, nUsers);
    // a column may still be a view of a grown buffer well over n (the capacity guess was high)
    for (let c = 0; c < cols.length; c++) if (cols[c].buffer.byteLength > 1.0625 * cols[c].byteLength + 4096) cols[c] = cols[c].slice();
    const [user, time, item, category, behavior] = cols as [Int32Array, Int32Array, Int32Array, Int32Array, Uint8Array];
    const vocab: Vocabs = {
      user: this.interners.user.strings(), item: this.interners.item.strings(), category: this.interners.category.strings(),
    };
    const g: GroupedEvents = {
      n, user, item, category, behavior, time, userStart, vocab,
      resolution: this.resolution ?? 'second',
      format: this.formats.size === 1 ? [...this.formats][0] : 'generic',
    };
    sideFields.forEach((f, k) => {
      g[f] = cols[5 + k] as Int32Array;
      vocab[f] = this.interners[f].strings();
    });
    return g;
  }
}

export interface LoadProgress extends ReadProgress {
  /** index of the file being read */
  fileIndex: number;
  files: number;
  /** events loaded so far over all files */
  events: number;
}

/**
 * Reads log files (each format detected or forced by `opts`) into grouped columns.
 * Throws CmdcmError for unreadable files or when bad rows exceed `opts.maxBadRows` in a file.
 */
export async function loadEvents(files: string[], opts: ReadOptions = {}, onProgress?: (p: LoadProgress) => void): Promise<{ events: GroupedEvents; reports: ReadReport[] }> {
  if (files.length === 0) throw new CmdcmError('no log files given');
  const b = new EventStoreBuilder(await estimateRows(files));
  const reports: ReadReport[] = [];
  for (let fi = 0; fi < files.length; fi++) {
    const before = b.n;
    reports.push(await readLog(files[fi], opts, b, onProgress && ((p) => onProgress({ ...p, fileIndex: fi, files: files.length, events: before + p.rows }))));
  }
  return { events: b.finish(), reports };
}

/**
 * A capacity guess from file sizes (about 40 bytes per row; gzip about 3×), so the columns rarely
 * regrow: each regrowth copies every column.
 */
export async function estimateRows(files: string[]): Promise<number> {
  let bytes = 0;
  for (const f of files) {
    const st = await fsp.stat(f).catch(() => undefined);
    if (st?.isFile()) bytes += /\.gz$/i.test(f) ? st.size * 3 : st.size;
  }
  return Math.min(Math.max(1 << 16, Math.ceil(bytes / 40)), 1 << 28);
}

export type EventSource = AsyncIterable<LogEvent> | Iterable<LogEvent>;

/**
 * Events given as objects (library API: arrays, generators, async iterables) → grouped columns.
 * `format`/`resolution` describe the events' clock (default 'generic' / 'second').
 */
export async function ingestEvents(source: EventSource, meta: { format?: LogFormat; resolution?: TimeResolution } = {}): Promise<GroupedEvents> {
  const b = new EventStoreBuilder();
  b.noteFormat(meta.format ?? 'generic', meta.resolution ?? 'second');
  let i = 0;
  if (Symbol.asyncIterator in source) {
    for await (const ev of source as AsyncIterable<LogEvent>) b.addEvent(ev, `event ${i++}`);
  } else {
    for (const ev of source as Iterable<LogEvent>) b.addEvent(ev, `event ${i++}`);
  }
  return b.finish();
}

/** The events of user index u as [start, end) into the grouped columns. */
export function userRange(g: GroupedEvents, u: number): [number, number] {
  return [g.userStart[u], g.userStart[u + 1]];
}
