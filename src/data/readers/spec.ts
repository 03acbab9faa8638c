import type { Behavior, LogFormat, SideField, TimeResolution } from '../types.js';
import { shortKey, shortKeyOf } from './bytes.js';

/** Id roles a row carries, in the order of `RowSpec.idCols` and of the id ranges handed to sinks. */
export const R_USER = 0, R_ITEM = 1, R_CATEGORY = 2, R_SELLER = 3, R_BRAND = 4, R_GEOHASH = 5;
export const N_ROLES = 6;
export const ROLE_NAMES = ['user', 'item', 'category', 'seller', 'brand', 'geohash'] as const;

export type TimeKind = 'datetime' | 'unix' | 'mmdd' | 'monthday';

/** Raw behavior code bytes → behavior, without building a string per row. */
export class BehaviorMap {
  private readonly short = new Map<number, Behavior>();
  private readonly long = new Map<string, Behavior>();
  /** one-byte codes (Tianchi, Tmall) by byte value, -1 unknown */
  private readonly single = new Int8Array(256).fill(-1);
  constructor(readonly codes: Record<string, Behavior>) {
    for (const [k, v] of Object.entries(codes)) {
      if (k.length === 1 && k.charCodeAt(0) < 128) this.single[k.charCodeAt(0)] = v;
      const key = shortKeyOf(k);
      if (key >= 0) this.short.set(key, v);
      else this.long.set(k, v);
    }
  }
  /** The one-byte and short (<= 6 byte) codes as flat tables, for the addon's row scanner. */
  shortTables(): { single: Int8Array; keys: Float64Array; vals: Int32Array } {
    return { single: this.single, keys: Float64Array.from(this.short.keys()), vals: Int32Array.from(this.short.values()) };
  }

  /** behavior code, or -1 when unknown */
  lookup(buf: Buffer, s: number, e: number): number {
    if (e - s === 1) return this.single[buf[s]];
    const k = shortKey(buf, s, e);
    if (k >= 0) return this.short.get(k) ?? -1;
    if (this.long.size === 0) return -1;
    return this.long.get(buf.toString('utf8', s, e)) ?? -1;
  }
}

/** Everything the row loop needs to know about one file's layout. */
export interface RowSpec {
  format: LogFormat;
  /** exact number of columns of a good row */
  nCols: number;
  /** column index per role (R_USER…R_GEOHASH), -1 when the format lacks it */
  idCols: Int32Array;
  behaviorCol: number;
  behaviors: BehaviorMap;
  timeKind: TimeKind;
  /** the time column (the month column for 'monthday') */
  timeCol: number;
  /** the day column for 'monthday', else -1 */
  dayCol: number;
  /** added to parsed unix seconds (Taobao: +8 h to Beijing wall clock) */
  offsetSec: number;
  /** year of mmdd / month-day dates */
  year: number;
  /** leading lines that are no data (a header) */
  headerLines: number;
  resolution: TimeResolution;
  /** side fields present in this format */
  sideFields: SideField[];
  /** human description for reports, e.g. 'tmall2015 (pandas index column)' */
  describe: string;
}

export function makeIdCols(cols: Partial<Record<(typeof ROLE_NAMES)[number], number>>): Int32Array {
  const a = new Int32Array(N_ROLES).fill(-1);
  ROLE_NAMES.forEach((r, i) => { if (cols[r] !== undefined) a[i] = cols[r]!; });
  return a;
}

export function sideFieldsOf(idCols: Int32Array): SideField[] {
  const out: SideField[] = [];
  if (idCols[R_SELLER] >= 0) out.push('seller');
  if (idCols[R_BRAND] >= 0) out.push('brand');
  if (idCols[R_GEOHASH] >= 0) out.push('geohash');
  return out;
}
