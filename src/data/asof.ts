import { flagError } from '../util/errors.js';
import { SECONDS_PER_DAY, SECONDS_PER_HOUR, type Promotion } from './types.js';
import { dateOfDay, dayOfDate } from './calendar.js';

/**
 * The as-of protocol (DESIGN.md "Label availability"): a model is trained at a serving time
 * `asOf` and scores the target's clicks as they happen after it.
 *
 *  - The target's clicks before asOf are training samples. Their atc/direct labels count only
 *    events before asOf (censored), their delayed label is masked.
 *  - A click shortly before asOf has had little time to show its cart or buy: its censored label
 *    is mostly a false negative. Such labels are masked until the click is *mature*: older than
 *    the horizon within which 90 % of the historical pre-windows' carts (buys) followed their click
 *    (`labelHorizons`, measured on the log itself, so a world with slow carts gets a long horizon).
 *    Mature clicks keep their censored labels: the few carts later than the horizon are lost, a
 *    small bias in exchange for the newest clicks' signal.
 *  - The target's clicks at or after asOf are the test split, scored against their full outcome;
 *    their features use every event strictly before the click, as a live system's would.
 */

/** Default `--test-days`: asOf = the target day minus this many days, 00:00. */
export const DEFAULT_TEST_DAYS = 3;

/** Share of the historical label delays a mature click's observation must cover. */
export const HORIZON_QUANTILE = 0.9;

/** Horizon (hours) when the history holds too few positives to measure one. */
export const FALLBACK_HORIZON_HOURS = 24;

/** Fewer historical positives than this: the fallback horizon. */
const MIN_POSITIVES = 30;

export interface AsOfSpec {
  /** `--test-days` (default 3) */
  testDays?: number;
  /** `--as-of` 'YYYY-MM-DD' or 'YYYY-MM-DD HH[:MM[:SS]]' (local time of the log); wins over testDays */
  asOf?: string;
}

/**
 * The serving time in local seconds, rounded up to the log's resolution (so that every time
 * bucket lies wholly before or after it), checked against the target's pre-window: it must leave
 * at least one test click possible, i.e. fall inside (window start, promotion day].
 */
export function resolveAsOf(target: Promotion, spec: AsOfSpec, resolutionSec: number): number {
  let t: number;
  let flag: string;
  if (spec.asOf !== undefined) {
    flag = 'as-of';
    const m = /^(\d{4}-\d{2}-\d{2})(?:[ T](\d{1,2})(?::(\d{2})(?::(\d{2}))?)?)?$/.exec(spec.asOf.trim());
    const day = m ? dayOfDate(m[1]) : undefined;
    if (!m || day === undefined) throw flagError(flag, `'${spec.asOf}' is not a date-time (YYYY-MM-DD or 'YYYY-MM-DD HH:MM')`);
    const h = Number(m[2] ?? 0), mi = Number(m[3] ?? 0), se = Number(m[4] ?? 0);
    if (h > 23 || mi > 59 || se > 59) throw flagError(flag, `'${spec.asOf}' has an invalid time of day`);
    t = day * SECONDS_PER_DAY + h * SECONDS_PER_HOUR + mi * 60 + se;
  } else {
    flag = 'test-days';
    const d = spec.testDays ?? DEFAULT_TEST_DAYS;
    if (!Number.isInteger(d) || d < 1) throw flagError(flag, `must be a positive integer, got ${d}`);
    if (d > target.preDays) throw flagError(flag, `${d} days is longer than the target's ${target.preDays}-day pre-window (${target.date})`);
    t = (target.day - d) * SECONDS_PER_DAY;
  }
  t = Math.ceil(t / resolutionSec) * resolutionSec;
  const lo = (target.day - target.preDays) * SECONDS_PER_DAY, hi = target.day * SECONDS_PER_DAY;
  if (t <= lo || t > hi) {
    throw flagError(flag, `the serving time ${formatAsOf(t)} must fall inside the target's pre-window (${dateOfDay(target.day - target.preDays)} 00:00, ${target.date} 00:00]`);
  }
  return t;
}

/** 'YYYY-MM-DD HH:MM' of local seconds. */
export function formatAsOf(t: number): string {
  return new Date(t * 1000).toISOString().slice(0, 16).replace('T', ' ');
}

/** Hours a click must be old before its censored atc (direct) label counts: see the file comment. */
export interface LabelHorizons {
  atc: number;
  direct: number;
}

/** The HORIZON_QUANTILE of a delay histogram (bin h = h hours), in hours; h + 1 covers bin h. */
export function delayQuantileHours(hist: readonly number[], q = HORIZON_QUANTILE): number | null {
  const total = hist.reduce((a, b) => a + b, 0);
  if (total < MIN_POSITIVES) return null;
  let acc = 0;
  for (let h = 0; h < hist.length; h++) {
    acc += hist[h];
    if (acc >= q * total) return h + 1;
  }
  return hist.length;
}

export function labelHorizons(delayHours: { atc: readonly number[]; direct: readonly number[] }): LabelHorizons {
  return {
    atc: delayQuantileHours(delayHours.atc) ?? FALLBACK_HORIZON_HOURS,
    direct: delayQuantileHours(delayHours.direct) ?? FALLBACK_HORIZON_HOURS,
  };
}

/**
 * Masks the censored labels of the target's training clicks that are younger than their horizon
 * (mask columns TASKS order: direct, atc, delayed), in place, for samples [from, to).
 */
export function maskImmatureLabels(time: Int32Array, mask: Float32Array | Uint8Array, from: number, to: number, asOf: number, h: LabelHorizons): void {
  const atcFrom = asOf - h.atc * SECONDS_PER_HOUR, directFrom = asOf - h.direct * SECONDS_PER_HOUR;
  for (let i = from; i < to; i++) {
    if (time[i] > directFrom) mask[i * 3] = 0;
    if (time[i] > atcFrom) mask[i * 3 + 1] = 0;
  }
}
