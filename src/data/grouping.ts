import type { Column } from './types.js';

/**
 * Grouping events by user, time-sorted (the CSR every sample build walks): a radix sort of the
 * event store's columns in place, and the same order as a permutation.
 */

const INT32_MAX = 2147483647;

/** The event store's columns: ints and bytes only (the radix sort below moves exactly these two kinds). */
export type EventColumn = Exclude<Column, Float32Array>;

// one function per element type keeps each scatter loop monomorphic
function move32(from: Int32Array, to: Int32Array, dest: Int32Array, n: number): void {
  for (let k = 0; k < n; k++) to[dest[k]] = from[k];
}
function move8(from: Uint8Array, to: Uint8Array, dest: Int32Array, n: number): void {
  for (let k = 0; k < n; k++) to[dest[k]] = from[k];
}

/**
 * Sorts columns in place (cols[0] = user index, cols[1] = time) by user, then time, equal keys in
 * input order, and returns the CSR offsets per user.
 *
 * LSD radix sort that moves the columns themselves: stable passes over ≤ 11-bit digits of the time
 * (offset from the minimum, in hours or days when every time is a multiple), then of the user.
 * Each pass reads sequentially and writes to at most 2048 streams, so it stays cache-friendly; a
 * sort permutation followed by gathers would instead miss the cache on nearly every event
 * (measured ≈4× slower on 5M events with 20k users).
 */
export function sortByUserTime(cols: EventColumn[], n: number, nUsers: number): { userStart: Int32Array } {
  const user = () => cols[0] as Int32Array;
  const time = () => cols[1] as Int32Array;
  const userStart = new Int32Array(nUsers + 1);
  if (n === 0) return { userStart };
  let minT = INT32_MAX, maxT = -INT32_MAX - 1;
  // hour- and day-resolution logs sort on hours / days: fewer digits
  let hourly = true, daily = true;
  const t0 = time()[0];
  for (let i = 0; i < n; i++) {
    const t = time()[i];
    if (t < minT) minT = t;
    if (t > maxT) maxT = t;
    const d = t - t0;
    if (d % 3600 !== 0) hourly = daily = false;
    else if (d % 86400 !== 0) daily = false;
  }
  const unit = daily ? 86400 : hourly ? 3600 : 1;
  // One spare buffer per element type instead of a second copy of every column: each pass moves a
  // column into the spare, and the column's old buffer becomes the spare for the next one.
  let spare32: Int32Array | undefined, spare8: Uint8Array | undefined;
  const digit = new Uint16Array(n);
  const dest = new Int32Array(n);
  const pass = (buckets: number) => {
    const count = new Int32Array(buckets);
    for (let k = 0; k < n; k++) count[digit[k]]++;
    for (let b = 0, sum = 0; b < buckets; b++) { const c = count[b]; count[b] = sum; sum += c; }
    for (let k = 0; k < n; k++) dest[k] = count[digit[k]]++;
    for (let c = 0; c < cols.length; c++) {
      const from = cols[c];
      if (from instanceof Uint8Array) {
        const to = spare8 ?? new Uint8Array(n);
        move8(from, to, dest, n);
        cols[c] = to;
        spare8 = from;
      } else {
        const to = spare32 ?? new Int32Array(n);
        move32(from, to, dest, n);
        cols[c] = to;
        spare32 = from;
      }
    }
  };
  const passesFor = (bits: number) => Math.ceil(bits / 11);
  const spanT = Math.floor((maxT - minT) / unit);
  const bitsT = spanT > 0 ? 32 - Math.clz32(spanT) : 0;
  const bitsU = nUsers > 1 ? 32 - Math.clz32(nUsers - 1) : 0;
  // Logs are often time-ordered per user already (generated ones, many exports): then stable
  // passes by user alone give the result, and the time passes are skipped.
  const pt = userTimesOrdered(user(), time(), n, nUsers) ? 0 : passesFor(bitsT), wt = pt ? Math.ceil(bitsT / pt) : 0;
  for (let p = 0; p < pt; p++) {
    const shift = p * wt, mask = (1 << wt) - 1;
    const tc = time();
    for (let k = 0; k < n; k++) digit[k] = (((tc[k] - minT) / unit) >>> shift) & mask;
    pass(1 << wt);
  }
  const pu = passesFor(bitsU), wu = pu ? Math.ceil(bitsU / pu) : 0;
  for (let p = 0; p < pu; p++) {
    const shift = p * wu, mask = (1 << wu) - 1;
    const uc = user();
    for (let k = 0; k < n; k++) digit[k] = (uc[k] >>> shift) & mask;
    pass(1 << wu);
  }
  return { userStart: csrOf(user(), n, nUsers) };
}

/** Whether every user's events already come in non-decreasing time order. */
function userTimesOrdered(uc: Int32Array, tc: Int32Array, n: number, nUsers: number): boolean {
  const last = new Int32Array(nUsers).fill(-INT32_MAX - 1);
  for (let k = 0; k < n; k++) {
    const u = uc[k], t = tc[k];
    if (t < last[u]) return false;
    last[u] = t;
  }
  return true;
}

function csrOf(uc: Int32Array, n: number, nUsers: number): Int32Array {
  const userStart = new Int32Array(nUsers + 1);
  for (let k = 0; k < n; k++) userStart[uc[k] + 1]++;
  for (let u = 0; u < nUsers; u++) userStart[u + 1] += userStart[u];
  return userStart;
}

/**
 * CSR offsets per user and the permutation that lists each user's events in time order, equal times
 * in input order (the order `sortByUserTime` produces, as an index array).
 */
export function groupPermutation(userCol: Int32Array, timeCol: Int32Array, n: number, nUsers: number): { userStart: Int32Array; perm: Int32Array } {
  const perm = new Int32Array(n);
  for (let i = 0; i < n; i++) perm[i] = i;
  const cols: EventColumn[] = [userCol.slice(0, n), timeCol.slice(0, n), perm];
  const { userStart } = sortByUserTime(cols, n, nUsers);
  return { userStart, perm: cols[2] as Int32Array };
}

