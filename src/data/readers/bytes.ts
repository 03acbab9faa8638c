/**
 * Field parsers working on byte ranges of a Buffer, so the hot read loop allocates nothing per row.
 * Every parser returns NaN for "unparsable"; callers turn that into a bad-row reason.
 */

/** Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil). */
export function daysFromCivil(y: number, m: number, d: number): number {
  y -= m <= 2 ? 1 : 0;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

export function daysInMonth(y: number, m: number): number {
  if (m === 2) return (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0 ? 29 : 28;
  return m === 4 || m === 6 || m === 9 || m === 11 ? 30 : 31;
}

/** Local seconds of a calendar date-time, or NaN when the date is invalid. */
export function civilSeconds(y: number, mo: number, d: number, h = 0, mi = 0, s = 0): number {
  if (mo < 1 || mo > 12 || d < 1 || d > daysInMonth(y, mo) || h > 23 || mi > 59 || s > 59) return NaN;
  return daysFromCivil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s;
}

/** Unsigned decimal integer of [s, e), NaN if empty, not all digits or longer than 15 digits. */
export function parseUint(buf: Uint8Array, s: number, e: number): number {
  if (e <= s || e - s > 15) return NaN;
  let n = 0;
  for (let i = s; i < e; i++) {
    const c = buf[i] - 48;
    if (c < 0 || c > 9) return NaN;
    n = n * 10 + c;
  }
  return n;
}

/** Like parseUint but also accepts an integer-valued float (`12.0`, pandas re-saves). */
export function parseUintLoose(buf: Uint8Array, s: number, e: number): number {
  let dot = -1;
  for (let i = s; i < e; i++) if (buf[i] === 46) { dot = i; break; }
  if (dot < 0) return parseUint(buf, s, e);
  for (let i = dot + 1; i < e; i++) if (buf[i] !== 48) return NaN;
  return parseUint(buf, s, dot);
}

function digits(buf: Uint8Array, s: number, n: number): number {
  let v = 0;
  for (let i = s; i < s + n; i++) {
    const c = buf[i] - 48;
    if (c < 0 || c > 9) return NaN;
    v = v * 10 + c;
  }
  return v;
}

/**
 * `YYYY-MM-DD`, optionally followed by ` HH` or `THH`, optionally `:MM` and `:SS` (Tianchi 2014 is
 * `YYYY-MM-DD HH`). Also accepts `/` as the date separator. Returns local seconds or NaN.
 */
export function parseDateTime(buf: Uint8Array, s: number, e: number): number {
  const len = e - s;
  if (len < 10) return NaN;
  const sep = buf[s + 4];
  if ((sep !== 45 && sep !== 47) || buf[s + 7] !== sep) return NaN;
  const y = digits(buf, s, 4), mo = digits(buf, s + 5, 2), d = digits(buf, s + 8, 2);
  const day = dayOfDate(y, mo, d);
  if (len === 10) return day;
  let h = 0, mi = 0, sec = 0;
  const t = buf[s + 10];
  if ((t !== 32 && t !== 84) || len < 13) return NaN;
  h = digits(buf, s + 11, 2);
  if (len > 13) {
    if (buf[s + 13] !== 58 || len < 16) return NaN;
    mi = digits(buf, s + 14, 2);
    if (len > 16) {
      if (buf[s + 16] !== 58 || len !== 19) return NaN;
      sec = digits(buf, s + 17, 2);
    }
  }
  if (h > 23 || mi > 59 || sec > 59) return NaN;
  return day + h * 3600 + mi * 60 + sec;
}

/**
 * Seconds of a date's midnight, through a direct-mapped cache: a log spans few distinct dates, and
 * the calendar arithmetic costs more than the rest of a row's parsing.
 */
const dateTag = new Int32Array(4096).fill(-1);
const dateSec = new Float64Array(4096);
function dayOfDate(y: number, mo: number, d: number): number {
  const ymd = y * 10000 + mo * 100 + d;
  if (!(ymd >= 0 && ymd < 2147483647)) return NaN;
  const slot = ymd & 4095;
  if (dateTag[slot] === ymd) return dateSec[slot];
  const v = civilSeconds(y, mo, d);
  if (v === v) {
    dateTag[slot] = ymd;
    dateSec[slot] = v;
  }
  return v;
}

/** Resolution of a datetime field by its length: 'day', 'hour' or 'second'. */
export function dateTimeResolution(len: number): 'day' | 'hour' | 'second' {
  return len <= 10 ? 'day' : len <= 13 ? 'hour' : 'second';
}

/**
 * Seconds of local midnight for every mmdd code 0..1231 of one year (NaN for invalid dates), so
 * Tmall's `829` / `0829` costs one table lookup per row.
 */
export function mmddTable(year: number): Float64Array {
  const t = new Float64Array(1232).fill(NaN);
  for (let m = 1; m <= 12; m++) {
    for (let d = 1; d <= daysInMonth(year, m); d++) t[m * 100 + d] = daysFromCivil(year, m, d) * 86400;
  }
  return t;
}

/** mmdd as 3 or 4 digits (a leading zero may be missing), via `mmddTable`. */
export function parseMmdd(buf: Uint8Array, s: number, e: number, table: Float64Array): number {
  if (e - s < 3 || e - s > 4) return NaN;
  const v = parseUint(buf, s, e);
  return v < 1232 ? table[v] : NaN;
}

/**
 * Key of a short field's bytes as an exact number (up to 6 bytes), for behavior-code lookup
 * without building a string; -1 if longer.
 */
export function shortKey(buf: Uint8Array, s: number, e: number): number {
  if (e - s > 6 || e <= s) return -1;
  let k = 0;
  for (let i = s; i < e; i++) k = k * 256 + buf[i];
  return k + (e - s) * 281474976710656; // the length disambiguates leading NUL bytes
}

export function shortKeyOf(code: string): number {
  const b = Buffer.from(code, 'utf8');
  return shortKey(b, 0, b.length);
}
