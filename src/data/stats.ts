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
    return { dense, minDay, nDays, start: none, day: none, clicks: none, carts: none, buys: none, promoBuys: none };
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
  return { dense: none, minDay, nDays, start: eStart, day: eDay.slice(0, m), clicks: eClicks.slice(0, m), carts: eCarts.slice(0, m), buys: eBuys.slice(0, m), promoBuys: ePromo.slice(0, m) };
}

/**
 * Item i's cumulative counts over the days before `day` into out[0..3] (clicks, carts, buys,
 * promotion-day buys).
 */
export function itemCountsBefore(s: ItemDayStats, i: number, day: number, out: Int32Array): void {
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
