import { CmdcmError, flagError } from '../util/errors.js';
import { SECONDS_PER_DAY, type Promotion } from './types.js';

/**
 * The promotion calendar: which promotions a log holds and which one is the target.
 * A promotion P covers its pre-window [P.day - P.preDays, P.day) plus its own day (the day delayed
 * conversions land on). Promotions are kept in chronological order; `target` indexes them.
 */
export interface Calendar {
  promotions: Promotion[];
  target: number;
}

const DATE_RE = /^(\d{4})-(\d{2})-(\d{2})$/;

/** Local day number of an ISO date, or undefined when it is not a real calendar date. */
export function dayOfDate(date: string): number | undefined {
  const m = DATE_RE.exec(date);
  if (!m) return undefined;
  const y = Number(m[1]), mo = Number(m[2]), d = Number(m[3]);
  const ms = Date.UTC(y, mo - 1, d);
  const back = new Date(ms);
  // Date.UTC silently rolls 2014-02-30 over into March; a round trip catches it.
  if (back.getUTCFullYear() !== y || back.getUTCMonth() !== mo - 1 || back.getUTCDate() !== d) return undefined;
  return Math.floor(ms / 1000 / SECONDS_PER_DAY);
}

export function dateOfDay(day: number): string {
  return new Date(day * SECONDS_PER_DAY * 1000).toISOString().slice(0, 10);
}

/** Parse one `--promo DATE:DAYS` value (DAYS = pre-window length, 1..365). */
export function parsePromo(value: string, flag = 'promo'): Promotion {
  const m = /^\s*(\d{4}-\d{2}-\d{2})\s*:\s*(\d+)\s*$/.exec(value);
  if (!m) throw flagError(flag, `expected DATE:DAYS like 2014-12-12:10 (promotion day : pre-window days), got '${value}'`);
  const day = dayOfDate(m[1]);
  if (day === undefined) throw flagError(flag, `'${m[1]}' is not a valid date (YYYY-MM-DD) in '${value}'`);
  const preDays = Number(m[2]);
  if (preDays < 1 || preDays > 365) throw flagError(flag, `pre-window length must be 1..365 days, got ${preDays} in '${value}'`);
  return { date: m[1], day, preDays };
}

/**
 * Build a calendar from `--promo` values (in the order given) and an optional `--target`
 * (a promotion's date, or its 0-based index in the order given). Without `--target` the last
 * `--promo` is the target. Overlapping promotions (pre-window plus day) are refused, because a
 * click would then belong to two promotions and one promotion's day would leak into the other's
 * pre-window statistics.
 */
export function buildCalendar(promos: readonly (string | Promotion)[], target?: string | number, flags = { promo: 'promo', target: 'target' }): Calendar {
  if (promos.length === 0) throw flagError(flags.promo, 'at least one promotion is required, e.g. --promo 2014-12-12:10');
  const given = promos.map((p) => (typeof p === 'string' ? parsePromo(p, flags.promo) : { ...p }));
  let targetGiven = given.length - 1;
  if (target !== undefined && target !== '') {
    const t = String(target).trim();
    if (/^\d+$/.test(t)) {
      targetGiven = Number(t);
      if (targetGiven >= given.length) throw flagError(flags.target, `index ${t} is out of range: ${given.length} promotion(s) given (0-based)`);
    } else {
      targetGiven = given.findIndex((p) => p.date === t);
      if (targetGiven < 0) throw flagError(flags.target, `'${t}' is neither a 0-based index nor the date of a --${flags.promo} (${given.map((p) => p.date).join(', ')})`);
    }
  }
  const order = given.map((_, i) => i).sort((a, b) => given[a].day - given[b].day);
  const promotions = order.map((i) => given[i]);
  for (let k = 1; k < promotions.length; k++) {
    const a = promotions[k - 1], b = promotions[k];
    if (a.day === b.day) throw flagError(flags.promo, `promotion ${a.date} is given twice`);
    if (b.day - b.preDays <= a.day) {
      throw flagError(flags.promo, `promotions overlap: ${b.date}'s ${b.preDays}-day pre-window starts ${dateOfDay(b.day - b.preDays)}, on or before ${a.date}`);
    }
  }
  return { promotions, target: order.indexOf(targetGiven) };
}

/**
 * Check the calendar against the log's day range [firstDay, lastDay]. The target needs at least
 * part of its pre-window inside the log. A historical promotion the log does not cover (its day or
 * its whole pre-window outside it) is kept with no samples, and prepare warns about it
 * (`datasetWarnings`): the same flags then serve logs that start after it (the public Tianchi 2014
 * log starts on 2014-11-18, after Double 11), and the target is still scored.
 */
export function checkCalendarRange(cal: Calendar, firstDay: number, lastDay: number, flag = 'promo'): void {
  const range = `${dateOfDay(firstDay)} .. ${dateOfDay(lastDay)}`;
  const p = cal.promotions[cal.target];
  const start = p.day - p.preDays;
  if (p.day - 1 < firstDay || start > lastDay) {
    throw flagError(flag, `the target promotion ${p.date}:${p.preDays} has its pre-window ${dateOfDay(start)} .. ${dateOfDay(p.day - 1)} outside the log's date range ${range}`);
  }
  if (cal.target !== cal.promotions.length - 1) {
    const later = cal.promotions.slice(cal.target + 1).map((p) => p.date);
    // Training on promotions after the target would feed the future into the model.
    throw new CmdcmError(`--target: promotion(s) ${later.join(', ')} come after the target ${cal.promotions[cal.target].date}; the target must be the latest promotion`, { exitCode: 2 });
  }
}

/** Index of the promotion whose pre-window holds `day`, or -1. */
export function promoOfDay(cal: Calendar, day: number): number {
  for (let i = 0; i < cal.promotions.length; i++) {
    const p = cal.promotions[i];
    if (day >= p.day - p.preDays && day < p.day) return i;
  }
  return -1;
}

/** Sidecar written by `cmdcm generate` next to its log (FILE.promos.json), read by `--promo auto`. */
export interface PromoSidecar {
  promotions: { date: string; preDays: number }[];
  target: string;
}

export function sidecarPathFor(logFile: string): string {
  return logFile.replace(/\.gz$/, '') + '.promos.json';
}
