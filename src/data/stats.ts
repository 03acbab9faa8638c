import type { GroupedEvents } from './types.js';
import { BUY, CART, CLICK, SECONDS_PER_DAY } from './types.js';

/**
 * Item popularity as of the start of a day, for every (item, day) a sample can ask about.
 *
 * A click's item statistics may only count events strictly before the click. Item events come
 * from all users, while samples are built user by user, so "so far" is taken at day granularity:
 * everything on days before the click's day (strictly earlier at any log resolution). Built with
 * two counting sorts (by day, then stably by item): O(events), no per-event objects.
 *
 * For item i, entries [start[i], start[i+1]) hold its distinct active days ascending and the
 * cumulative counts *through* that day; `query` finds the last entry before the asked day.
 */
export interface ItemDayStats {
  /**
   * Dense layout when items x days is small: cell (i, d) = 4 cumulative counters (clicks, carts,
   * buys, promoBuys) through day minDay + d; `query` then needs no search. Otherwise empty and the
   * sparse entries below are used.
   */
  dense: Int32Array;
  minDay: number;
  nDays: number;
  start: Int32Array;
  day: Int32Array;
  clicks: Int32Array;
  carts: Int32Array;
  buys: Int32Array;
  /** buys on a (historical) promotion day */
  promoBuys: Int32Array;
  /** the log's first day (any event): item popularity is taken per day since then (DENSE i_click) */
  firstDay: number;
  /**
   * Query-day layout (ItemStatsAccumulator): `dense` cell (i, j) holds item i's counts over the
   * days before query day j, where queryCol[day - queryMin] = j for every day a sample can ask
   * about (the pre-window days) and -1 elsewhere; nDays is the number of query days.
   */
  queryMin?: number;
  queryCol?: Int32Array;
}

/** Above this many (item, day) cells the sparse layout is used (4 int32 counters a cell). */
export const DENSE_ITEM_DAY_CELLS = 1 << 23;

export function buildItemDayStats(g: GroupedEvents, nItems: number, promoDays: readonly number[], denseCells = DENSE_ITEM_DAY_CELLS): ItemDayStats {
  const n = g.n;
  const time = g.time, item = g.item, beh = g.behavior;
  let minDay = Infinity, maxDay = -Infinity;
  for (let k = 0; k < n; k++) {
    const d = Math.floor(time[k] / SECONDS_PER_DAY);
    if (d < minDay) minDay = d;
    if (d > maxDay) maxDay = d;
  }
  if (n === 0) { minDay = 0; maxDay = 0; }
  const nDays = maxDay - minDay + 1;
  const isPromoDay = new Uint8Array(nDays);
  for (const pd of promoDays) if (pd >= minDay && pd <= maxDay) isPromoDay[pd - minDay] = 1;
  const none = new Int32Array(0);
  if (nItems * nDays <= denseCells) {
    // one pass of per-cell counts, then a running sum along each item's days
    const dense = new Int32Array(nItems * nDays * 4);
    for (let k = 0; k < n; k++) {
      const d = Math.floor(time[k] / SECONDS_PER_DAY) - minDay;
      const o = (item[k] * nDays + d) * 4;
      const bh = beh[k];
      if (bh === CLICK) dense[o]++;
      else if (bh === CART) dense[o + 1]++;
      else if (bh === BUY) { dense[o + 2]++; if (isPromoDay[d]) dense[o + 3]++; }
    }
    for (let i = 0; i < nItems; i++) {
      let o = i * nDays * 4;
      for (let d = 1; d < nDays; d++, o += 4) {
        dense[o + 4] += dense[o]; dense[o + 5] += dense[o + 1]; dense[o + 6] += dense[o + 2]; dense[o + 7] += dense[o + 3];
      }
    }
    return { dense, minDay, nDays, start: none, day: none, clicks: none, carts: none, buys: none, promoBuys: none, firstDay: minDay };
  }

  // counting sort by day
  const dayCount = new Int32Array(nDays + 1);
  const dayIdx = new Int32Array(n);
  for (let k = 0; k < n; k++) {
    const d = Math.floor(time[k] / SECONDS_PER_DAY) - minDay;
    dayIdx[k] = d;
    dayCount[d + 1]++;
  }
  for (let d = 0; d < nDays; d++) dayCount[d + 1] += dayCount[d];
  const byDay = new Int32Array(n);
  for (let k = 0; k < n; k++) byDay[dayCount[dayIdx[k]]++] = k;

  // stable counting sort by item
  const start = new Int32Array(nItems + 1);
  for (let k = 0; k < n; k++) start[item[k] + 1]++;
  for (let i = 0; i < nItems; i++) start[i + 1] += start[i];
  const pos = start.slice(0, nItems);
  const byItem = new Int32Array(n);
  for (let j = 0; j < n; j++) {
    const k = byDay[j];
    byItem[pos[item[k]]++] = k;
  }

  // compress to distinct (item, day) entries with cumulative counts
  const eStart = new Int32Array(nItems + 1);
  const eDay = new Int32Array(n), eClicks = new Int32Array(n), eCarts = new Int32Array(n), eBuys = new Int32Array(n), ePromo = new Int32Array(n);
  let m = 0;
  for (let i = 0; i < nItems; i++) {
    eStart[i] = m;
    let c = 0, ca = 0, b = 0, pb = 0, lastDay = -1;
    for (let j = start[i]; j < start[i + 1]; j++) {
      const k = byItem[j];
      const d = dayIdx[k];
      if (d !== lastDay) {
        eDay[m] = d + minDay;
        m++;
        lastDay = d;
      }
      const bh = beh[k];
      if (bh === CLICK) c++;
      else if (bh === CART) ca++;
      else if (bh === BUY) { b++; if (isPromoDay[d]) pb++; }
      eClicks[m - 1] = c; eCarts[m - 1] = ca; eBuys[m - 1] = b; ePromo[m - 1] = pb;
    }
  }
  eStart[nItems] = m;
  return { dense: none, minDay, nDays, start: eStart, day: eDay.slice(0, m), clicks: eClicks.slice(0, m), carts: eCarts.slice(0, m), buys: eBuys.slice(0, m), promoBuys: ePromo.slice(0, m), firstDay: minDay };
}

/**
 * Item i's cumulative counts over the days before `day` into out[0..3] (clicks, carts, buys,
 * promotion-day buys).
 */
export function itemCountsBefore(s: ItemDayStats, i: number, day: number, out: Int32Array): void {
  if (s.queryCol) {
    const j = s.queryCol[day - s.queryMin!];
    if (!(j >= 0)) notAQueryDay(day);
    const o = (i * s.nDays + j) * 4;
    const a = s.dense;
    out[0] = a[o]; out[1] = a[o + 1]; out[2] = a[o + 2]; out[3] = a[o + 3];
    return;
  }
  if (s.dense.length > 0) {
    const d = Math.min(day - s.minDay, s.nDays) - 1;
    if (d < 0) { out[0] = 0; out[1] = 0; out[2] = 0; out[3] = 0; return; }
    const o = (i * s.nDays + d) * 4;
    const a = s.dense;
    out[0] = a[o]; out[1] = a[o + 1]; out[2] = a[o + 2]; out[3] = a[o + 3];
    return;
  }
  const en = itemEntryBefore(s, i, day);
  if (en < 0) { out[0] = 0; out[1] = 0; out[2] = 0; out[3] = 0; return; }
  out[0] = s.clicks[en]; out[1] = s.carts[en]; out[2] = s.buys[en]; out[3] = s.promoBuys[en];
}

// kept out of itemCountsBefore so that it stays small enough to inline into the sample loop
function notAQueryDay(day: number): never {
  throw new Error(`item statistics were built for pre-window days only; asked about day ${day}`);
}

/** Index of the entry holding item i's cumulative counts through the last active day before `day`, or -1. */
export function itemEntryBefore(s: ItemDayStats, i: number, day: number): number {
  let lo = s.start[i], hi = s.start[i + 1];
  // last entry with entry.day < day
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (s.day[mid] < day) lo = mid + 1;
    else hi = mid;
  }
  return lo - 1 >= s.start[i] ? lo - 1 : -1;
}

/**
 * Item statistics built incrementally, one batch of events at a time in any order (the
 * out-of-core prepare feeds it each run of the log), in memory bounded by the catalog and the
 * calendar rather than by the number of events.
 *
 * Samples only ask about pre-window days (a sample is a click inside a pre-window), so the counts
 * are kept per "slot" between consecutive query days: an event on day e falls into slot
 * s = #{query days <= e}, and item i's counts before query day Q[j] are the sum of its slots 0..j.
 * Events after the last query day are never asked about and are not kept. Slots live in a dense
 * items x query-days grid while that is small, else in a hash table of the (item, slot) cells seen.
 */
export class ItemStatsAccumulator {
  private readonly q: Int32Array;
  private readonly qMin: number;
  /** day - qMin -> slot, for days in [qMin, qMax] */
  private readonly slotOf: Int32Array;
  private readonly promoDays: Int32Array;
  private grid: Int32Array | undefined;
  private gridItems = 0;
  // hash mode: open addressing on (item, slot); item -1 marks an empty cell
  private hItem = new Int32Array(0);
  private hSlot = new Int32Array(0);
  private hCount = new Int32Array(0);
  private hUsed = 0;
  private firstDay = Infinity;

  constructor(queryDays: readonly number[], promoDays: readonly number[], private readonly denseCells = DENSE_ITEM_DAY_CELLS) {
    this.q = Int32Array.from(new Set(queryDays)).sort();
    const nq = this.q.length;
    this.qMin = nq ? this.q[0] : 0;
    this.slotOf = new Int32Array(nq ? this.q[nq - 1] - this.qMin + 1 : 0);
    for (let d = 0, j = 0; d < this.slotOf.length; d++) {
      while (j < nq && this.q[j] <= d + this.qMin) j++;
      this.slotOf[d] = j;
    }
    this.promoDays = Int32Array.from(promoDays);
    this.grid = new Int32Array(0);
  }

  /** Counts events [0, n) of the columns. */
  add(item: Int32Array, time: Int32Array, beh: Uint8Array, n: number): void {
    for (let k = 0; k < n; k++) {
      const d = Math.floor(time[k] / SECONDS_PER_DAY);
      if (d < this.firstDay) this.firstDay = d;
    }
    const nq = this.q.length;
    if (nq === 0) return;
    const qMin = this.qMin, slotOf = this.slotOf, span = slotOf.length, pd = this.promoDays;
    let maxItem = -1;
    for (let k = 0; k < n; k++) if (item[k] > maxItem) maxItem = item[k];
    if (this.grid && maxItem >= this.gridItems) this.growGrid(maxItem + 1);
    for (let k = 0; k < n; k++) {
      const bh = beh[k];
      if (bh !== CLICK && bh !== CART && bh !== BUY) continue;
      const e = Math.floor(time[k] / SECONDS_PER_DAY);
      const r = e - qMin;
      const s = r < 0 ? 0 : r >= span ? nq : slotOf[r];
      if (s >= nq) continue;
      const c = bh === CLICK ? 0 : bh === CART ? 1 : 2;
      let promo = 0;
      if (c === 2) for (let x = 0; x < pd.length; x++) if (pd[x] === e) promo = 1;
      const g = this.grid;
      if (g) {
        const o = (item[k] * nq + s) * 4;
        g[o + c]++;
        if (promo) g[o + 3]++;
      } else {
        const o = this.cell(item[k], s) * 4;
        this.hCount[o + c]++;
        if (promo) this.hCount[o + 3]++;
      }
    }
  }

  private growGrid(items: number): void {
    const nq = this.q.length;
    if (items * nq > this.denseCells) {
      // too many cells for a grid: move its non-empty cells into the hash table
      const g = this.grid!;
      this.grid = undefined;
      this.rehash(1 << 16);
      for (let i = 0; i < this.gridItems; i++) {
        for (let s = 0; s < nq; s++) {
          const o = (i * nq + s) * 4;
          if (g[o] === 0 && g[o + 1] === 0 && g[o + 2] === 0) continue;
          const h = this.cell(i, s) * 4;
          for (let c = 0; c < 4; c++) this.hCount[h + c] = g[o + c];
        }
      }
      return;
    }
    const cap = Math.min(Math.max(items, this.gridItems * 2, 1024), Math.max(items, Math.floor(this.denseCells / nq)));
    const g = new Int32Array(cap * nq * 4);
    g.set(this.grid!);
    this.grid = g;
    this.gridItems = cap;
  }

  /** Index of the (item, slot) cell, added when new. */
  private cell(i: number, s: number): number {
    if (2 * (this.hUsed + 1) > this.hItem.length) this.rehash(Math.max(1 << 16, this.hItem.length * 2));
    const mask = this.hItem.length - 1;
    let h = (Math.imul(i, 0x9e3779b1) ^ Math.imul(s + 1, 0x85ebca77)) >>> 0;
    h = (h ^ (h >>> 15)) & mask;
    const hi = this.hItem, hs = this.hSlot;
    for (;;) {
      const v = hi[h];
      if (v === i && hs[h] === s) return h;
      if (v === -1) { hi[h] = i; hs[h] = s; this.hUsed++; return h; }
      h = (h + 1) & mask;
    }
  }

  private rehash(size: number): void {
    const oi = this.hItem, os = this.hSlot, oc = this.hCount;
    this.hItem = new Int32Array(size).fill(-1);
    this.hSlot = new Int32Array(size);
    this.hCount = new Int32Array(size * 4);
    this.hUsed = 0;
    for (let h = 0; h < oi.length; h++) {
      if (oi[h] === -1) continue;
      const o = this.cell(oi[h], os[h]) * 4;
      for (let c = 0; c < 4; c++) this.hCount[o + c] = oc[h * 4 + c];
    }
  }

  /** The statistics for `nItems` items (the final vocabulary size); the accumulator is spent. */
  finish(nItems: number): ItemDayStats {
    const nq = this.q.length;
    const none = new Int32Array(0);
    const queryCol = new Int32Array(this.slotOf.length).fill(-1);
    for (let j = 0; j < nq; j++) queryCol[this.q[j] - this.qMin] = j;
    if (this.grid) {
      let dense = this.grid;
      if (this.gridItems < nItems) { dense = new Int32Array(nItems * nq * 4); dense.set(this.grid); }
      this.grid = undefined;
      // running sums along each item's slots: cell j then counts everything before query day j
      for (let i = 0; i < nItems; i++) {
        let o = i * nq * 4;
        for (let j = 1; j < nq; j++, o += 4) {
          dense[o + 4] += dense[o]; dense[o + 5] += dense[o + 1]; dense[o + 6] += dense[o + 2]; dense[o + 7] += dense[o + 3];
        }
      }
      return { dense, minDay: this.qMin, nDays: nq, start: none, day: none, clicks: none, carts: none, buys: none, promoBuys: none, queryMin: this.qMin, queryCol, firstDay: this.firstDayOr0() };
    }
    // sparse layout of buildItemDayStats: an entry per (item, slot) seen, its "day" the slot's
    // first day (the query day before it, or -2^31 for slot 0), so `itemEntryBefore(day = Q[j])`
    // lands on the last slot <= j
    const m = this.hUsed;
    const start = new Int32Array(nItems + 1);
    const hi = this.hItem, hs = this.hSlot, hc = this.hCount;
    for (let h = 0; h < hi.length; h++) if (hi[h] >= 0) start[hi[h] + 1]++;
    for (let i = 0; i < nItems; i++) start[i + 1] += start[i];
    const pos = start.slice(0, nItems);
    const slot = new Int32Array(m), cell = new Int32Array(m);
    for (let h = 0; h < hi.length; h++) {
      if (hi[h] < 0) continue;
      const p = pos[hi[h]]++;
      slot[p] = hs[h];
      cell[p] = h;
    }
    const day = new Int32Array(m), clicks = new Int32Array(m), carts = new Int32Array(m), buys = new Int32Array(m), promoBuys = new Int32Array(m);
    for (let i = 0; i < nItems; i++) {
      const a = start[i], b = start[i + 1];
      // insertion sort: an item has at most nq + 1 slots
      for (let x = a + 1; x < b; x++) {
        const sv = slot[x], cv = cell[x];
        let y = x - 1;
        while (y >= a && slot[y] > sv) { slot[y + 1] = slot[y]; cell[y + 1] = cell[y]; y--; }
        slot[y + 1] = sv; cell[y + 1] = cv;
      }
      let c = 0, ca = 0, bu = 0, pb = 0;
      for (let x = a; x < b; x++) {
        const o = cell[x] * 4;
        c += hc[o]; ca += hc[o + 1]; bu += hc[o + 2]; pb += hc[o + 3];
        day[x] = slot[x] === 0 ? -2147483648 : this.q[slot[x] - 1];
        clicks[x] = c; carts[x] = ca; buys[x] = bu; promoBuys[x] = pb;
      }
    }
    this.hItem = this.hSlot = this.hCount = none;
    return { dense: none, minDay: this.qMin, nDays: nq, start, day, clicks, carts, buys, promoBuys, firstDay: this.firstDayOr0() };
  }

  private firstDayOr0(): number {
    return Number.isFinite(this.firstDay) ? this.firstDay : 0;
  }
}
