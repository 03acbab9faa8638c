import type { Behavior, LogFormat } from '../types.js';
import { CLICK, COLLECT, CART, BUY } from '../types.js';
import { flagError } from '../../util/errors.js';

/**
 * How to read behavior logs (`ReadOptions`), and the parsers of its compact spellings. The CLI's
 * reader flags (`src/cli/flags/read.ts`) map onto these, for every command that reads logs.
 */

/** How a generic CSV's time is written. `month`/`day` split columns need no time format. */
export type GenericTimeFormat = 'datetime' | 'unix' | 'mmdd';

/**
 * Generic CSV column mapping: 0-based column index or header name per role. Time is either one
 * `time` column (see `GenericTimeFormat`) or `month` + `day` columns (year from `ReadOptions.year`).
 */
export interface ColumnMapping {
  user: number | string;
  item: number | string;
  category: number | string;
  behavior: number | string;
  time?: number | string;
  month?: number | string;
  day?: number | string;
  seller?: number | string;
  brand?: number | string;
  geohash?: number | string;
}

export const COLUMN_ROLES = ['user', 'item', 'category', 'behavior', 'time', 'month', 'day', 'seller', 'brand', 'geohash'] as const;

export interface ReadOptions {
  /** 'auto' (default) detects from the header/shape; `columns` without a format implies 'generic'. */
  format?: LogFormat | 'auto';
  /** Year of mmdd / month-day dates (Tmall IJCAI-15 and generic), default 2015. */
  year?: number;
  columns?: ColumnMapping;
  /** Raw behavior code → behavior; required for generic, replaces a known format's codes otherwise. */
  behaviors?: Record<string, Behavior>;
  /** Generic `time` column format, default 'datetime'. */
  timeFormat?: GenericTimeFormat;
  /** Hours added to generic unix timestamps to get local wall clock (default 0). */
  utcOffsetHours?: number;
  /**
   * Abort when bad rows exceed this: a count (>= 1) or a fraction of the file's rows (< 1).
   * Default `DEFAULT_MAX_BAD_ROWS`.
   */
  maxBadRows?: number;
  /** How many bad rows are quoted as file:line (default 5). */
  badExamples?: number;
}

/** 10 %: a file that bad is almost surely misread, while real dirty rows stay far below it. */
export const DEFAULT_MAX_BAD_ROWS = 0.1;
export const DEFAULT_YEAR = 2015;

const BEHAVIOR_NAMES: Record<string, Behavior> = {
  click: CLICK, pv: CLICK, view: CLICK,
  collect: COLLECT, fav: COLLECT, favorite: COLLECT, favourite: COLLECT,
  cart: CART, atc: CART, 'add-to-cart': CART,
  buy: BUY, purchase: BUY, order: BUY,
};

/** `0=click,1=cart,2=buy,3=collect` → code map. Names: click|pv|view, collect|fav, cart|atc, buy|purchase. */
export function parseBehaviorsSpec(spec: string, flag = 'behaviors'): Record<string, Behavior> {
  const out: Record<string, Behavior> = {};
  for (const part of spec.split(',')) {
    const eq = part.indexOf('=');
    if (eq <= 0) throw flagError(flag, `expected CODE=NAME pairs like '0=click,1=cart,2=buy,3=collect', got '${part}'`);
    const code = part.slice(0, eq).trim();
    const name = part.slice(eq + 1).trim().toLowerCase();
    const b = BEHAVIOR_NAMES[name];
    if (b === undefined) throw flagError(flag, `unknown behavior '${name}' (use click, collect, cart or buy)`);
    if (code in out) throw flagError(flag, `code '${code}' given twice`);
    out[code] = b;
  }
  return out;
}

/** `user=0,item=1,category=2,behavior=7,month=5,day=6` (indices 0-based, or header names). */
export function parseColumnsSpec(spec: string, flag = 'columns'): ColumnMapping {
  const m: Partial<Record<(typeof COLUMN_ROLES)[number], number | string>> = {};
  for (const part of spec.split(',')) {
    const eq = part.indexOf('=');
    const role = part.slice(0, eq).trim().toLowerCase() as (typeof COLUMN_ROLES)[number];
    const raw = part.slice(eq + 1).trim();
    if (eq <= 0 || raw === '') throw flagError(flag, `expected ROLE=COLUMN pairs like 'user=0,item=1,category=2,behavior=3,time=4', got '${part}'`);
    if (!(COLUMN_ROLES as readonly string[]).includes(role)) throw flagError(flag, `unknown role '${role}' (roles: ${COLUMN_ROLES.join(', ')})`);
    if (role in m) throw flagError(flag, `role '${role}' given twice`);
    m[role] = /^\d+$/.test(raw) ? Number(raw) : raw;
  }
  for (const r of ['user', 'item', 'category', 'behavior'] as const) {
    if (m[r] === undefined) throw flagError(flag, `missing '${r}=' (required: user, item, category, behavior, and time or month+day)`);
  }
  const hasTime = m.time !== undefined, hasMD = m.month !== undefined || m.day !== undefined;
  if (hasTime === hasMD) throw flagError(flag, "give either 'time=COL' or both 'month=COL,day=COL'");
  if (hasMD && (m.month === undefined || m.day === undefined)) throw flagError(flag, "'month=' and 'day=' go together");
  return m as ColumnMapping;
}

export function parseMaxBadRows(raw: string, flag = 'max-bad-rows'): number {
  const n = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(n) || n < 0) throw flagError(flag, `expected a count (e.g. 100) or a fraction (e.g. 0.01), got '${raw}'`);
  if (n >= 1 && !Number.isInteger(n)) throw flagError(flag, `a count must be an integer, got '${raw}'`);
  return n;
}
