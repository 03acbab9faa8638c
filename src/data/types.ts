/**
 * The data contract every module shares (DESIGN.md "Data semantics").
 *
 * Time: all times inside cmdcm are *local wall-clock seconds* (seconds since 1970-01-01 00:00 of
 * the log's local clock, as if it were UTC). Tianchi 2014 `YYYY-MM-DD HH` and Tmall `mmdd` are
 * read as wall clock; Taobao 2017 unix seconds are shifted to Beijing time (UTC+8) so that a day
 * boundary is the local midnight on which promotions start. `day = floor(t / 86400)`,
 * `hour = floor(t / 3600)`.
 */

/** Behavior codes, in this order everywhere (columns, stats, bar charts). */
export const BEHAVIORS = ['click', 'collect', 'cart', 'buy'] as const;
export type BehaviorName = (typeof BEHAVIORS)[number];
export const CLICK = 0, COLLECT = 1, CART = 2, BUY = 3;
export type Behavior = 0 | 1 | 2 | 3;

export type LogFormat = 'tianchi2014' | 'taobao2017' | 'tmall2015' | 'generic';

/** Which time resolution a format has: labels/features compare at this resolution. */
export type TimeResolution = 'second' | 'hour' | 'day';

/**
 * A column of per-row values: what a shard stores (src/data/shards.ts), the event store keeps
 * (ints and bytes only: `EventColumn`, src/data/events.ts) and batch assembly copies.
 */
export type Column = Int32Array | Float32Array | Uint8Array;

/** Optional id columns a format may carry, beyond user/item/category. */
export const SIDE_FIELDS = ['seller', 'brand', 'geohash'] as const;
export type SideField = (typeof SIDE_FIELDS)[number];

/** One parsed log row. Ids are kept as the exact strings of the input (for predict output). */
export interface LogEvent {
  user: string;
  item: string;
  category: string;
  seller?: string;
  brand?: string;
  geohash?: string;
  behavior: Behavior;
  /** local wall-clock seconds */
  time: number;
}

/** A promotion: its day (local) and pre-window length in days. Pre-window = [day - preDays, day). */
export interface Promotion {
  /** ISO date, e.g. '2014-12-12' */
  date: string;
  /** local day number: floor(local seconds / 86400) */
  day: number;
  preDays: number;
}

export const SECONDS_PER_DAY = 86400;
export const SECONDS_PER_HOUR = 3600;

/** Seconds of one time bucket at a log's resolution (labels and features compare buckets). */
export function resolutionSeconds(r: TimeResolution): number {
  return r === 'second' ? 1 : r === 'hour' ? SECONDS_PER_HOUR : SECONDS_PER_DAY;
}

/** The three tasks, in label/mask column order. */
export const TASKS = ['direct', 'atc', 'delayed'] as const;
export type TaskName = (typeof TASKS)[number];
export const T_DIRECT = 0, T_ATC = 1, T_DELAYED = 2;

/**
 * Events in compact columnar memory, ids interned per field (index into `Vocabs`), side fields
 * -1 where missing. `GroupedEvents` additionally has all events grouped by user (CSR:
 * user u's events are [userStart[u], userStart[u+1])) and sorted by time within a user (stable:
 * equal times keep file order). User index u is the interned user id.
 */
export interface EventColumns {
  n: number;
  user: Int32Array;
  item: Int32Array;
  category: Int32Array;
  seller?: Int32Array;
  brand?: Int32Array;
  geohash?: Int32Array;
  behavior: Uint8Array;
  time: Int32Array;
}

export interface Vocabs {
  user: string[];
  item: string[];
  category: string[];
  seller?: string[];
  brand?: string[];
  geohash?: string[];
}

export interface GroupedEvents extends EventColumns {
  userStart: Int32Array;
  vocab: Vocabs;
  resolution: TimeResolution;
  format: LogFormat;
}
