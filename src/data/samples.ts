import type { GroupedEvents, Promotion } from './types.js';
import { BUY, CART, CLICK, COLLECT, SECONDS_PER_DAY, SECONDS_PER_HOUR, TASKS, BEHAVIORS } from './types.js';
import type { Schema, FieldHash } from './batch.js';
import type { Calendar } from './calendar.js';
import { buildItemDayStats, itemCountsBefore, type ItemDayStats, type SeenBefore } from './stats.js';
import { hashVocab, layoutHash, packSequences } from '../features/index.js';
import { CmdcmError } from '../util/errors.js';
import type { Column } from './shards.js';

/**
 * The sample builder (DESIGN.md "Data semantics"): every click of a user on an item inside a
 * promotion's pre-window is one sample.
 *
 * Labels look at the user's events at or after the click's time bucket (the log's resolution: a
 * cart in the click's own hour counts), up to the promotion's day:
 *   direct  = a buy of the item before the promotion day,
 *   atc     = a cart of the item before the promotion day,
 *   delayed = a buy of the item on the promotion day, and not direct.
 * Features use only events in strictly earlier buckets. Both come out of two linear passes over
 * each user's time-sorted CSR slice per pre-window (backward for labels, forward for features),
 * with per-item "stamp" arrays instead of per-user maps, so nothing is allocated per sample.
 *
 * Leakage guard by construction: the feature columns are the fixed list below, every one computed
 * from state that is updated only after the click's bucket has been emitted; `assertNoLabelColumns`
 * refuses any feature name that is, or is derived from, a label; the leakage test mutates events at
 * or after a click and checks its features stay byte-identical.
 */

/** Dense features, in `Schema.dense` order. Counts are log1p-scaled; rates are smoothed. */
export const DENSE_FEATURES = [
  'u_win_click', 'u_win_collect', 'u_win_cart', 'u_win_buy', // user, current pre-window so far
  'u_hist_click', 'u_hist_collect', 'u_hist_cart', 'u_hist_buy', // user, earlier promotions' pre-windows
  'u_hist_cart_promo_buy_rate', // items the user carted in earlier pre-windows and bought on that promotion day (smoothed)
  'u_has_hist', // the user was active in an earlier pre-window (0/1)
  'ui_win_click', 'ui_win_carted', // this user on this item, current pre-window so far
  'i_click', 'i_cart_rate', 'i_buy_rate', 'i_promo_buy', // item popularity, all users, days before the click's day
  'days_to_promo_frac', // days to the promotion / pre-window length
] as const;

// Smoothing priors (pseudo-counts): keep rates of rarely seen users/items near a typical value.
const USER_CONV_PRIOR = 0.2, USER_CONV_STRENGTH = 2;
const ITEM_CART_PRIOR = 0.05, ITEM_BUY_PRIOR = 0.01, ITEM_STRENGTH = 10;

// log1p of small counts by table: the feature loop computes ~10 per sample
const LOG1P = Float64Array.from({ length: 4096 }, (_, i) => Math.log1p(i));
function log1pInt(x: number): number {
  return x < 4096 ? LOG1P[x] : Math.log1p(x);
}

/** Gap buckets of sequence events (HACKING.md "Sequence packing"). */
export const GAP_BUCKETS = 16;

/** Refuses feature names that are labels or derived from them (the AUC = 1.0 pitfall in DESIGN.md). */
export function assertNoLabelColumns(names: readonly string[]): void {
  const bad = names.filter((n) => (TASKS as readonly string[]).includes(n) || /^(label|target|y)(_|$)/i.test(n) || /(^|_)(direct|atc|delayed|label)(_|$)/i.test(n));
  if (bad.length) throw new CmdcmError(`refusing label-derived feature column(s): ${bad.join(', ')}`);
}

export interface SampleOptions {
  /** sequence length L (default 50) */
  seqLen?: number;
  /** upper bound for any field's bucket count (default 2^20) */
  maxBuckets?: number;
  /** fixed bucket counts per field name, overriding the data-driven choice (tests, re-use of a schema) */
  hashSizes?: Record<string, number>;
  /**
   * The ids logged before asOf (prepare passes them): the tables are sized by their counts and
   * they come first in the id order (plan.ids), so that what is logged after asOf cannot move a
   * training sample's rows or renumber its ids. Default: every id of the vocabularies.
   */
  seen?: SeenBefore;
}

/**
 * Bucket count for a field with `distinct` values: next power of two >= 2 x distinct (collisions
 * then hit about a fifth of the values), at least 16, capped by maxBuckets. Small enumerations
 * (<= 64 values: behavior, gap, hour, days-to-promotion) get 64 x their count: they have no
 * redundancy, so a collision would merge two values for every sample.
 */
export function bucketsFor(distinct: number, maxBuckets: number): number {
  const want = distinct <= 64 ? 64 * Math.max(distinct, 1) : 2 * distinct;
  let p = 16;
  while (p < want) p *= 2;
  return Math.min(p, maxBuckets);
}

/** Everything the builder needs besides the events: the schema and each value's table row. */
export interface SamplePlan {
  schema: Schema;
  rows: {
    user: Int32Array; item: Int32Array; category: Int32Array;
    seller?: Int32Array; brand?: Int32Array; geohash?: Int32Array;
    /** row of a missing side value (id -1) */
    missing: Record<string, number>;
    dtp: Int32Array; hour: Int32Array;
  };
  /**
   * The user / item index a sample stores (its `user` and `item` columns, the vocab files' order):
   * ids seen before asOf first, each group in string order; not the order of first appearance in
   * the file, so that deleting events after asOf cannot renumber the training samples' ids.
   */
  ids: { user: Int32Array; item: Int32Array };
}

/** rank[i] = position of strings[i] when the ids marked `first` come first, each group sorted (code units). */
export function stringRanks(strings: readonly string[], first?: Uint8Array): Int32Array {
  const grp = (i: number) => (first && first[i] === 1 ? 0 : first ? 1 : 0);
  const order = Int32Array.from(strings, (_, i) => i).sort((a, b) => grp(a) - grp(b) || (strings[a] < strings[b] ? -1 : strings[a] > strings[b] ? 1 : a - b));
  const rank = new Int32Array(strings.length);
  for (let k = 0; k < order.length; k++) rank[order[k]] = k;
  return rank;
}

/** The vocabulary in the order of `stringRanks`. */
export function inRankOrder(strings: readonly string[], rank: Int32Array): string[] {
  const out = new Array<string>(strings.length);
  for (let i = 0; i < strings.length; i++) out[rank[i]] = strings[i];
  return out;
}

export function planSamples(g: GroupedEvents, cal: Calendar, opts: SampleOptions = {}): SamplePlan {
  const seqLen = opts.seqLen ?? 50;
  if (!Number.isInteger(seqLen) || seqLen < 1) throw new CmdcmError(`--seq-len: must be a positive integer, got ${seqLen}`);
  const maxBuckets = opts.maxBuckets ?? 1 << 20;
  const maxPre = Math.max(...cal.promotions.map((p) => p.preDays));
  const side = (['seller', 'brand', 'geohash'] as const).filter((f) => g[f] !== undefined && g.vocab[f] !== undefined);
  const fields = ['user', 'item', 'category', ...side, 'dtp', ...(g.resolution === 'day' ? [] : ['hour'])];
  const distinct: Record<string, number> = {
    user: g.vocab.user.length, item: g.vocab.item.length, category: g.vocab.category.length,
    dtp: maxPre, hour: 24, behavior: BEHAVIORS.length, gap: GAP_BUCKETS,
  };
  for (const f of side) distinct[f] = g.vocab[f]!.length + 1; // + the missing value
  if (opts.seen) {
    const c = opts.seen.counts();
    for (const f of ['user', 'item', 'category', ...side]) distinct[f] = (c[f] ?? 0) + (f === 'user' || f === 'item' || f === 'category' ? 0 : 1);
  }
  const all = [...fields, 'behavior', 'gap'];
  // behavior and gap rows are offset + code (HACKING.md "Sequence packing"), not hashed
  const sizeOf = (name: string) => (name === 'behavior' || name === 'gap' ? distinct[name] : opts.hashSizes?.[name] ?? bucketsFor(distinct[name], maxBuckets));
  const { hash, tableRows } = layoutHash(all.map((name) => ({ name, size: sizeOf(name) })));
  const fh = (name: string): FieldHash => hash.find((h) => h.name === name)!;
  const schema: Schema = { fields, seqLen, seqTokens: ['item', 'category', 'behavior', 'gap'], dense: [...DENSE_FEATURES], hash, tableRows };
  assertNoLabelColumns(schema.dense);
  assertNoLabelColumns(schema.fields);
  const nums = (n: number, from = 0) => Array.from({ length: n }, (_, i) => String(i + from));
  const missing: Record<string, number> = {};
  const rows: SamplePlan['rows'] = {
    user: hashVocab(fh('user'), g.vocab.user),
    item: hashVocab(fh('item'), g.vocab.item),
    category: hashVocab(fh('category'), g.vocab.category),
    missing,
    // index = days to promotion (1..maxPre); index 0 unused
    dtp: hashVocab(fh('dtp'), nums(maxPre + 1)),
    hour: g.resolution === 'day' ? new Int32Array(24) : hashVocab(fh('hour'), nums(24)),
  };
  for (const f of side) {
    rows[f] = hashVocab(fh(f), g.vocab[f]!);
    missing[f] = hashVocab(fh(f), [''])[0];
  }
  const ids = {
    user: stringRanks(g.vocab.user, opts.seen?.marksOf('user')),
    item: stringRanks(g.vocab.item, opts.seen?.marksOf('item')),
  };
  return { schema, rows, ids };
}

/**
 * One chunk of samples of one promotion, as stored in a shard. Behavior sequences are stored
 * compactly instead of as N x L x 4 tokens (which would be ~800 bytes a sample, 50x the log): the
 * chunk keeps, per (user, promotion) block, the user's events its samples can look back on
 * (`ev*`, CSR by `evStart`), and each sample names its block (`seqBlock`). `packSequences` on the
 * block CSR then yields exactly the last L events strictly before each click (see `packChunk`).
 */
export interface SampleChunk {
  promo: number;
  /** the target's clicks at or after `asOf` (the test split); false for every other chunk */
  test: boolean;
  n: number;
  columns: {
    fields: Int32Array; dense: Float32Array; labels: Uint8Array; mask: Uint8Array;
    user: Int32Array; item: Int32Array; time: Int32Array; daysToPromo: Int32Array;
    seqBlock: Int32Array; evStart: Int32Array;
    evItem: Int32Array; evCategory: Int32Array; evBehavior: Uint8Array; evTime: Int32Array;
  };
}

class Grow<T extends Int32Array | Float32Array | Uint8Array> {
  a: T;
  constructor(private readonly make: (n: number) => T, cap: number) { this.a = make(cap); }
  /** room for n elements; `exact`: no more (the caller chose the growth) */
  ensure(n: number, exact = false): T {
    if (n > this.a.length) {
      const b = this.make(exact ? n : Math.max(n, this.a.length * 2));
      b.set(this.a as never);
      this.a = b;
    }
    return this.a;
  }
}

const i32 = (n: number) => new Int32Array(n);
const f32 = (n: number) => new Float32Array(n);
const u8 = (n: number) => new Uint8Array(n);

class ChunkBuffer {
  n = 0;
  evN = 0;
  fields: Grow<Int32Array>; dense: Grow<Float32Array>; labels = new Grow(u8, 0); mask = new Grow(u8, 0);
  user = new Grow(i32, 0); item = new Grow(i32, 0); time = new Grow(i32, 0); dtp = new Grow(i32, 0);
  seqBlock = new Grow(i32, 0); nBlocks = 0; evStart = new Grow(i32, 1024);
  evItem = new Grow(i32, 0); evCat = new Grow(i32, 0); evBeh = new Grow(u8, 0); evTime = new Grow(i32, 0);
  /**
   * `full`: the sample count at which the chunk is flushed. Growth stops doubling near it: the
   * chunk passes it by at most one user's pre-window, and doubling there would leave every
   * promotion's two buffers at twice the memory they need.
   */
  private readonly limit: number;
  constructor(readonly F: number, readonly S: number, cap: number, full = cap) {
    this.limit = full + (full >> 3) + 1024;
    this.fields = new Grow(i32, cap * F);
    this.dense = new Grow(f32, cap * S);
    this.ensure(cap);
    this.ensureEv(cap * 4);
  }
  ensure(n: number): void {
    if (n <= this.user.a.length) return;
    const len = this.user.a.length;
    const c = Math.max(n, n <= this.limit ? Math.min(len * 2, this.limit) : len * 2, 1024);
    this.fields.ensure(c * this.F, true); this.dense.ensure(c * this.S, true); this.labels.ensure(c * 3, true); this.mask.ensure(c * 3, true);
    this.user.ensure(c, true); this.item.ensure(c, true); this.time.ensure(c, true); this.dtp.ensure(c, true); this.seqBlock.ensure(c, true);
  }
  ensureEv(n: number): void {
    if (n <= this.evItem.a.length) return;
    const c = Math.max(n, this.evItem.a.length * 2, 4096);
    this.evItem.ensure(c); this.evCat.ensure(c); this.evBeh.ensure(c); this.evTime.ensure(c);
  }
  /** The filled part of the buffers: copies, or views when `view` (valid until the buffer refills). */
  take(promo: number, test: boolean, view: boolean): SampleChunk {
    const n = this.n, e = this.evN;
    const cut = <T extends Int32Array | Float32Array | Uint8Array>(a: T, len: number): T => (view ? a.subarray(0, len) : a.slice(0, len)) as T;
    const chunk: SampleChunk = {
      promo, test, n,
      columns: {
        fields: cut(this.fields.a, n * this.F), dense: cut(this.dense.a, n * this.S),
        labels: cut(this.labels.a, n * 3), mask: cut(this.mask.a, n * 3),
        user: cut(this.user.a, n), item: cut(this.item.a, n), time: cut(this.time.a, n), daysToPromo: cut(this.dtp.a, n),
        seqBlock: cut(this.seqBlock.a, n), evStart: cut(this.evStart.a, this.nBlocks + 1),
        evItem: cut(this.evItem.a, e), evCategory: cut(this.evCat.a, e), evBehavior: cut(this.evBeh.a, e), evTime: cut(this.evTime.a, e),
      },
    };
    this.n = 0;
    this.evN = 0;
    this.nBlocks = 0;
    return chunk;
  }
}

export interface BuildStats {
  samples: number;
  perPromo: number[];
  /** samples on the last `validDays` days of each promotion's pre-window */
  perPromoLate: number[];
  /** labels summed per promotion, TASKS order */
  positives: number[][];
  targetOutcomeKnown: boolean;
  usersWithSamples: number;
  /** target clicks at or after `asOf` (the test split; included in perPromo[target]) */
  targetTest: number;
  /**
   * Historical pre-windows' label delays: for each click with an atc (direct) label, hours from the
   * click to the first cart (buy) at or after it, as a histogram (bin h = h hours, the last bin
   * everything longer). `labelHorizons` turns them into the age at which a click's label is mature.
   */
  delayHours: { atc: number[]; direct: number[] };
}

/** Bins of BuildStats.delayHours: up to 8 weeks hour by hour. */
export const DELAY_BINS = 24 * 56 + 1;

export interface BuildOptions {
  /** flush a promotion's chunk once it holds at least this many samples (default 65536) */
  shardSize?: number;
  validDays?: number;
  /**
   * Hand the sink views of the builder's buffers instead of copies: no copy per shard, but the
   * chunk is valid only until the sink's promise resolves (prepare writes it out by then). The
   * next chunk may then be built, and handed over, before that promise resolves.
   */
  reuseBuffers?: boolean;
  /** build only the samples of users [from, to) (a parallel build splits the users) */
  users?: [number, number];
  /** test hook: item x day cells above which item statistics use the sparse layout */
  denseItemDayCells?: number;
  /** called every few thousand users with the number of events processed */
  onProgress?: (eventsDone: number) => void;
  /**
   * Item statistics and the log's last day, when the events handed over are only part of the log
   * (the out-of-core prepare): both must describe the whole log. Default: computed from the events.
   */
  itemStats?: ItemDayStats;
  lastDay?: number;
  /**
   * The serving time (local seconds, a multiple of the log's resolution): the target's clicks
   * before it are training samples whose atc/direct labels count only events before it and whose
   * delayed label is masked (0); clicks at or after it are test samples with their full outcome
   * (DESIGN.md "Label availability"). Default: the target's day (no test samples).
   */
  asOf?: number;
}

/**
 * A slice of the log for `buildSamplesFromParts`: the grouped events of users [users[0], users[1])
 * (user indices global, other users' CSR ranges empty or ignored).
 */
export interface EventPart {
  g: GroupedEvents;
  users: [number, number];
}

export function resolutionSeconds(r: GroupedEvents['resolution']): number {
  return r === 'second' ? 1 : r === 'hour' ? SECONDS_PER_HOUR : SECONDS_PER_DAY;
}

/**
 * Build all samples of `g` for the calendar, handing full chunks (one promotion each, at least
 * `shardSize` samples except the last of each promotion) to `sink` in the order they fill up.
 */
export async function buildSamples(g: GroupedEvents, cal: Calendar, plan: SamplePlan, sink: (chunk: SampleChunk) => Promise<void> | void,
  opts: BuildOptions = {}): Promise<BuildStats> {
  const nUsers = g.userStart.length - 1;
  const promos = cal.promotions;
  let lastDay = opts.lastDay;
  if (lastDay === undefined) {
    let maxT = -Infinity;
    for (let k = 0; k < g.n; k++) if (g.time[k] > maxT) maxT = g.time[k];
    lastDay = Math.floor(maxT / SECONDS_PER_DAY);
  }
  // from the plan, not g.vocab: a parallel build hands workers the columns without the id strings
  const itemStats = opts.itemStats ?? buildItemDayStats(g, plan.rows.item.length, promos.filter((_, i) => i !== cal.target).map((p) => p.day), opts.denseItemDayCells);
  return buildSamplesFromParts([{ g, users: opts.users ?? [0, nUsers] }], g.resolution, cal, plan, sink, { ...opts, itemStats, lastDay });
}

/**
 * `buildSamples` over the log handed over in parts, each holding every event of its users: the
 * samples and chunks are those of one `buildSamples` over the whole log when the parts' user
 * ranges are consecutive. `opts.itemStats` and `opts.lastDay` must describe the whole log.
 */
export async function buildSamplesFromParts(parts: Iterable<EventPart> | AsyncIterable<EventPart>, resolution: GroupedEvents['resolution'],
  cal: Calendar, plan: SamplePlan, sink: (chunk: SampleChunk) => Promise<void> | void,
  opts: BuildOptions & { itemStats: ItemDayStats; lastDay: number }): Promise<BuildStats> {
  const shardSize = opts.shardSize ?? 65536;
  const reuse = opts.reuseBuffers ?? false;
  const validDays = opts.validDays ?? 0;
  const { schema, rows } = plan;
  const F = schema.fields.length, S = schema.dense.length, L = schema.seqLen;
  const promos: Promotion[] = cal.promotions;
  const nP = promos.length;
  const nItems = rows.item.length;
  const res = resolutionSeconds(resolution);
  const target = cal.target;
  const targetOutcomeKnown = opts.lastDay >= promos[target].day;
  const delayedMaskOf = (pi: number) => (pi === target && !targetOutcomeKnown ? 0 : 1);

  const istats = opts.itemStats;
  const userIds = plan.ids.user, itemIds = plan.ids.item;
  const sideCols = schema.fields.filter((f) => f === 'seller' || f === 'brand' || f === 'geohash') as ('seller' | 'brand' | 'geohash')[];
  const sideRows = sideCols.map((f) => rows[f]!);
  const sideMissing = sideCols.map((f) => rows.missing[f]);
  const hasHour = schema.fields.includes('hour');

  // per-item stamp arrays: a value counts only when its stamp equals the current (user, promotion)
  const cartSt = new Int32Array(nItems).fill(-1), buySt = new Int32Array(nItems).fill(-1), pBuySt = new Int32Array(nItems).fill(-1);
  const uiSt = new Int32Array(nItems).fill(-1), uiClicks = new Int32Array(nItems), uiCarted = new Uint8Array(nItems);
  const convSt = new Int32Array(nItems).fill(-1);
  // time of the first cart / buy at or after the bucket being labelled (valid where the stamp is)
  const cartT = new Int32Array(nItems), buyT = new Int32Array(nItems);
  // stamps come from one counter: `stamp` marks the (user, window) state, `lst` the label state,
  // which the target's window renews at asOf so that earlier clicks forget what followed it
  let gen = 0, stamp = 0, lst = 0;
  const asOf = opts.asOf ?? promos[target].day * SECONDS_PER_DAY;
  const delayAtc = new Array<number>(DELAY_BINS).fill(0), delayDirect = new Array<number>(DELAY_BINS).fill(0);
  const addDelay = (h: number[], sec: number) => { h[Math.min(DELAY_BINS - 1, Math.floor(sec / SECONDS_PER_HOUR))]++; };

  /**
   * A (user, window) block of one buffer: its samples share one slice of the user's events, from
   * the first sample's look-back start to the last sample's bucket (see SampleChunk).
   */
  interface Block { buf: ChunkBuffer; start: number; id: number; seqLo: number; seqHi: number }
  const openBlock = (buf: ChunkBuffer, maxSamples: number): Block => {
    // capacity for every event of the window being a click
    buf.ensure(buf.n + maxSamples);
    return { buf, start: buf.n, id: buf.nBlocks, seqLo: 0, seqHi: 0 };
  };
  const closeBlock = (blk: Block, item: Int32Array, category: Int32Array, behavior: Uint8Array, time: Int32Array) => {
    const { buf, seqLo, seqHi } = blk;
    const base = buf.evN;
    buf.ensureEv(base + seqHi - seqLo);
    const ei = buf.evItem.a, ec = buf.evCat.a, eb = buf.evBeh.a, et = buf.evTime.a;
    for (let x = seqLo; x < seqHi; x++) {
      const q = base + x - seqLo;
      ei[q] = rows.item[item[x]]; ec[q] = rows.category[category[x]]; eb[q] = behavior[x]; et[q] = time[x];
    }
    buf.evN = base + seqHi - seqLo;
    buf.nBlocks++;
    buf.evStart.ensure(buf.nBlocks + 1)[buf.nBlocks] = buf.evN;
  };
  const ic4 = new Int32Array(4);
  let labBuf = new Uint8Array(1024);

  // one buffer per promotion, and slot nP for the target's test clicks
  const TEST = nP;
  const slots = nP + 1;
  const newBuf = () => new ChunkBuffer(F, S, Math.min(shardSize, 1 << 16), shardSize);
  const bufs = Array.from({ length: slots }, (_, i) => (i === TEST ? new ChunkBuffer(F, S, 1024, shardSize) : newBuf()));
  // With reused buffers each slot has a second buffer that fills while the sink still holds
  // the first (prepare writes a shard meanwhile: waiting for each write idled ~15% of prepare).
  const spare: (ChunkBuffer | undefined)[] = bufs.map(() => undefined);
  const writing: (Promise<void> | undefined)[] = bufs.map(() => undefined);
  const flush = async (pi: number): Promise<void> => {
    const chunk = bufs[pi].take(pi === TEST ? target : pi, pi === TEST, reuse);
    if (!reuse) return sink(chunk);
    const held = spare[pi], prev = writing[pi];
    spare[pi] = bufs[pi];
    const p = Promise.resolve(sink(chunk));
    // handled here so a failure cannot surface as an unhandled rejection; it is awaited below
    p.catch(() => {});
    writing[pi] = p;
    await prev;
    bufs[pi] = held ?? newBuf();
  };
  const stats: BuildStats = {
    samples: 0, perPromo: new Array(nP).fill(0), perPromoLate: new Array(nP).fill(0),
    positives: promos.map(() => [0, 0, 0]), targetOutcomeKnown, usersWithSamples: 0, targetTest: 0,
    delayHours: { atc: delayAtc, direct: delayDirect },
  };
  const winStart = promos.map((p) => (p.day - p.preDays) * SECONDS_PER_DAY);
  const winEnd = promos.map((p) => p.day * SECONDS_PER_DAY);

  // events of the parts before the current one, for progress
  let doneBefore = 0;
  for await (const part of parts) {
    const { g } = part;
    const { time, item, category, behavior, userStart } = g;
    const sideIds = sideCols.map((f) => g[f]!);
    const [uFrom, uTo] = part.users;
    for (let u = uFrom; u < uTo; u++) {
      const s = userStart[u], e = userStart[u + 1];
      let hClick = 0, hCollect = 0, hCart = 0, hBuy = 0, hCartItems = 0, hConv = 0, hasHist = 0;
      let k = s;
      let userHad = false;
      for (let pi = 0; pi < nP; pi++) {
        const ws = winStart[pi], we = winEnd[pi], pe = we + SECONDS_PER_DAY;
        while (k < e && time[k] < ws) k++;
        const a = k;
        while (k < e && time[k] < we) k++;
        const b = k;
        while (k < e && time[k] < pe) k++;
        const c = k;
        if (a === b) continue;
        stamp = ++gen;
        lst = ++gen;
        for (let j = b; j < c; j++) if (behavior[j] === BUY) pBuySt[item[j]] = stamp;
        const isTarget = pi === target;
        // the target's clicks before asOf train, on what was logged before asOf; later ones test
        const censor = isTarget && asOf < we;
        let censored = false;

        // labels: walk buckets backward, registering a bucket's carts/buys before labelling its clicks
        if (labBuf.length < b - a) labBuf = new Uint8Array(Math.max(b - a, labBuf.length * 2));
        let j = b - 1;
        while (j >= a) {
          const bk = Math.floor(time[j] / res);
          let gs = j;
          while (gs - 1 >= a && Math.floor(time[gs - 1] / res) === bk) gs--;
          if (censor && !censored && time[j] < asOf) {
            // from here on back, carts and buys at or after asOf are not yet logged
            censored = true;
            lst = ++gen;
          }
          for (let x = gs; x <= j; x++) {
            const bh = behavior[x];
            if (bh === CART) { cartSt[item[x]] = lst; cartT[item[x]] = time[x]; }
            else if (bh === BUY) { buySt[item[x]] = lst; buyT[item[x]] = time[x]; }
          }
          for (let x = gs; x <= j; x++) {
            if (behavior[x] !== CLICK) continue;
            const it = item[x];
            const direct = buySt[it] === lst ? 1 : 0;
            const atc = cartSt[it] === lst ? 1 : 0;
            // a training click of the target never learns its promotion-day outcome
            const delayed = direct === 0 && pBuySt[it] === stamp && !censored ? 1 : 0;
            labBuf[x - a] = direct | (atc << 1) | (delayed << 2);
            if (!isTarget) {
              if (atc) addDelay(delayAtc, cartT[it] - time[x]);
              if (direct) addDelay(delayDirect, buyT[it] - time[x]);
            }
          }
          j = gs - 1;
        }

        // features: walk buckets forward, emitting a bucket's clicks before adding its events to the state
        let wClick = 0, wCollect = 0, wCart = 0, wBuy = 0;
        const pr = promos[pi];
        const uRow = rows.user[u];
        const lateFrom = pr.day - validDays;
        const convRate = (hConv + USER_CONV_PRIOR * USER_CONV_STRENGTH) / (hCartItems + USER_CONV_STRENGTH);
        const lhClick = Math.log1p(hClick), lhCollect = Math.log1p(hCollect), lhCart = Math.log1p(hCart), lhBuy = Math.log1p(hBuy);
        const dMask = delayedMaskOf(pi);
        // the window's samples go to its promotion's buffer, the target's from asOf on to the test one
        const blocks = censor ? [openBlock(bufs[pi], b - a), openBlock(bufs[TEST], b - a)] : [openBlock(bufs[pi], b - a)];
        let pDirect = 0, pAtc = 0, pDelayed = 0, late = 0;
        const itemRows = rows.item, catRows = rows.category, dtpRows = rows.dtp, hourRows = rows.hour;
        j = a;
        while (j < b) {
          const bk = Math.floor(time[j] / res);
          let ge = j + 1;
          while (ge < b && Math.floor(time[ge] / res) === bk) ge++;
          const lwClick = log1pInt(wClick), lwCollect = log1pInt(wCollect), lwCart = log1pInt(wCart), lwBuy = log1pInt(wBuy);
          for (let x = j; x < ge; x++) {
            if (behavior[x] !== CLICK) continue;
            const t = time[x], it = item[x];
            const test = censor && t >= asOf;
            const blk = blocks[test ? 1 : 0];
            const buf = blk.buf;
            const idx = buf.n++;
            const day = Math.floor(t / SECONDS_PER_DAY);
            const dtp = pr.day - day;
            const fa = buf.fields.a;
            const fo = idx * F;
            fa[fo] = uRow;
            fa[fo + 1] = itemRows[it];
            fa[fo + 2] = catRows[category[x]];
            let f = 3;
            for (let q = 0; q < sideCols.length; q++, f++) {
              const id = sideIds[q][x];
              fa[fo + f] = id < 0 ? sideMissing[q] : sideRows[q][id];
            }
            fa[fo + f++] = dtpRows[dtp];
            if (hasHour) fa[fo + f] = hourRows[Math.floor((t % SECONDS_PER_DAY) / SECONDS_PER_HOUR)];

            const d = buf.dense.a;
            const o = idx * S;
            d[o] = lwClick; d[o + 1] = lwCollect; d[o + 2] = lwCart; d[o + 3] = lwBuy;
            d[o + 4] = lhClick; d[o + 5] = lhCollect; d[o + 6] = lhCart; d[o + 7] = lhBuy;
            d[o + 8] = convRate; d[o + 9] = hasHist;
            const seen = uiSt[it] === stamp;
            d[o + 10] = seen ? log1pInt(uiClicks[it]) : 0;
            d[o + 11] = seen ? uiCarted[it] : 0;
            itemCountsBefore(istats, it, day, ic4);
            const ic = ic4[0], ica = ic4[1], ib = ic4[2];
            d[o + 12] = log1pInt(ic);
            d[o + 13] = (ica + ITEM_CART_PRIOR * ITEM_STRENGTH) / (ic + ITEM_STRENGTH);
            d[o + 14] = (ib + ITEM_BUY_PRIOR * ITEM_STRENGTH) / (ic + ITEM_STRENGTH);
            d[o + 15] = log1pInt(ic4[3]);
            d[o + 16] = dtp / pr.preDays;

            const lab = labBuf[x - a];
            const la = buf.labels.a, ma = buf.mask.a;
            const lo = idx * 3;
            la[lo] = lab & 1; la[lo + 1] = (lab >> 1) & 1; la[lo + 2] = (lab >> 2) & 1;
            ma[lo] = 1; ma[lo + 1] = 1; ma[lo + 2] = censor && !test ? 0 : dMask;
            pDirect += lab & 1; pAtc += (lab >> 1) & 1; pDelayed += (lab >> 2) & 1;
            buf.user.a[idx] = userIds[u]; buf.item.a[idx] = itemIds[it]; buf.time.a[idx] = t; buf.dtp.a[idx] = dtp;
            buf.seqBlock.a[idx] = blk.id;
            if (idx === blk.start) blk.seqLo = Math.max(s, j - L);
            blk.seqHi = j;
            if (day >= lateFrom) late++;
            if (test) stats.targetTest++;
          }
          for (let x = j; x < ge; x++) {
            const bh = behavior[x];
            const it = item[x];
            if (uiSt[it] !== stamp) { uiSt[it] = stamp; uiClicks[it] = 0; uiCarted[it] = 0; }
            if (bh === CLICK) { wClick++; uiClicks[it]++; }
            else if (bh === COLLECT) wCollect++;
            else if (bh === CART) { wCart++; uiCarted[it] = 1; }
            else wBuy++;
          }
          j = ge;
        }
        const pos = stats.positives[pi];
        pos[0] += pDirect; pos[1] += pAtc; pos[2] += pDelayed;
        stats.perPromoLate[pi] += late;
        for (const blk of blocks) {
          const added = blk.buf.n - blk.start;
          if (added === 0) continue;
          userHad = true;
          stats.perPromo[pi] += added;
          stats.samples += added;
          closeBlock(blk, item, category, behavior, time);
        }

        // this pre-window becomes history for the user's later promotions
        hClick += wClick; hCollect += wCollect; hCart += wCart; hBuy += wBuy; hasHist = 1;
        for (let x = a; x < b; x++) {
          if (behavior[x] !== CART) continue;
          const it = item[x];
          if (convSt[it] === stamp) continue;
          convSt[it] = stamp;
          hCartItems++;
          if (pBuySt[it] === stamp) hConv++;
        }
      }
      if (userHad) stats.usersWithSamples++;
      for (let pi = 0; pi < slots; pi++) {
        if (bufs[pi].n >= shardSize) await flush(pi);
      }
      if (opts.onProgress && (u & 1023) === 1023) opts.onProgress(doneBefore + e - userStart[uFrom]);
    }
    doneBefore += userStart[uTo] - userStart[uFrom];
  }
  for (let pi = 0; pi < slots; pi++) if (bufs[pi].n > 0) await flush(pi);
  await Promise.all(writing);
  opts.onProgress?.(doneBefore);
  return stats;
}

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

/** The columns' per-sample label bit layout, exported for tests and tools. */
export const LABEL_ORDER = TASKS;
