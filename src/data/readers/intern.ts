import { loadAddon, type AddonFunctions } from '../../native.js';

/**
 * Id interning: raw id → dense index in first-seen order.
 *
 * Normalization (for matching only): an id that is a plain decimal integer, optionally written as
 * an integer-valued float (`2661.0`, as pandas re-saves write ids), is matched by its numeric value,
 * so `2661` and `2661.0` are one id and the vocabulary holds its integer spelling `2661`. Ids with a
 * leading zero (`007`), signs, letters or more than 15 digits are kept as exact strings, so no two
 * different integer spellings collide. Numeric ids go through an open-addressing table on typed
 * arrays: no string and no object is built per row.
 */
export class IdInterner {
  /** open addressing, interleaved [key, id + 1] pairs (0 = empty) so a probe touches one cache line */
  private small: Int32Array;
  private smallBits: number;
  private smallUsed = 0;
  private table: Float64Array;
  private bits: number;
  private used = 0;
  /** short lowercase-alphanumeric ids (geohashes) as exact base-37 numbers, in their own table */
  private alnum: Float64Array;
  private alnumBits: number;
  private alnumUsed = 0;
  private readonly byString = new Map<string, number>();
  /** numeric value per id (NaN for other ids) */
  private nums: Float64Array;
  private readonly strs = new Map<number, string>();
  size = 0;

  constructor(initialBits = 12) {
    this.smallBits = initialBits;
    this.small = new Int32Array(2 << initialBits);
    this.bits = 4;
    this.table = new Float64Array(2 << 4);
    this.alnumBits = 8;
    this.alnum = new Float64Array(2 << 8);
    this.nums = new Float64Array(1024);
  }

  /** Index of the id in buf[s, e) (non-empty). */
  internBytes(buf: Uint8Array, s: number, e: number): number {
    const n = numericId(buf, s, e);
    if (n >= 0) return this.internNumber(n);
    const a = alnumKey(buf, s, e);
    if (a >= 0) return this.internAlnum(a, buf, s, e);
    return this.internStringRaw(Buffer.prototype.toString.call(buf, 'utf8', s, e));
  }

  internString(id: string): number {
    const n = numericIdOfString(id);
    if (n >= 0) return this.internNumber(n);
    return this.internStringRaw(id);
  }

  /** Index of an id already known, or -1 (no insertion). */
  find(id: string): number {
    const n = numericIdOfString(id);
    if (n < 0) return this.byString.get(id) ?? -1;
    if (n < 2147483648) {
      const t = this.small, mask = (1 << this.smallBits) - 1;
      for (let h = Math.imul(n, 0x9e3779b1) >>> (32 - this.smallBits); ; h = (h + 1) & mask) {
        const v = t[2 * h + 1];
        if (v === 0) return -1;
        if (t[2 * h] === n) return v - 1;
      }
    }
    const t = this.table, mask = (1 << this.bits) - 1;
    for (let h = hash(n, this.bits); ; h = (h + 1) & mask) {
      const v = t[2 * h + 1];
      if (v === 0) return -1;
      if (t[2 * h] === n) return v - 1;
    }
  }

  internNumber(n: number): number {
    if (n < 2147483648) return this.internSmall(n);
    const t = this.table;
    const mask = (1 << this.bits) - 1;
    let h = hash(n, this.bits);
    for (;;) {
      const v = t[2 * h + 1];
      if (v === 0) break;
      if (t[2 * h] === n) return v - 1;
      h = (h + 1) & mask;
    }
    const id = this.newId(n);
    t[2 * h] = n;
    t[2 * h + 1] = id + 1;
    if (++this.used * 2 > mask) {
      this.table = rehash(t, this.bits + 1);
      this.bits++;
    }
    return id;
  }

  /**
   * Interns a batch of keys (numeric id values, or -(1 + i) for the id string strs[i]) into
   * out[base + k], in order; key k is keys[k * stride + first]. One tight loop with the table in locals: the lookups of consecutive
   * keys do not depend on each other, so their cache misses overlap.
   */
  internBatch(keys: Float64Array, m: number, out: Int32Array, base: number, strs: string[], stride = 1, first = 0): void {
    const run = nativeRun();
    if (run) {
      // the addon interns runs of known small ids; each key it stops at is inserted here
      for (let k = run(this.small, this.smallBits, keys, stride, first, 0, m, out, base); k < m;
        k = run(this.small, this.smallBits, keys, stride, first, k + 1, m, out, base)) {
        const v = keys[k * stride + first];
        out[base + k] = v >= 0 ? this.internNumber(v) : this.internString(strs[-1 - v]);
      }
      return;
    }
    let t = this.small;
    let shift = 32 - this.smallBits, mask = (1 << this.smallBits) - 1;
    for (let k = 0; k < m; k++) {
      const v = keys[k * stride + first];
      if (v >= 0 && v < 2147483648) {
        let h = Math.imul(v, 0x9e3779b1) >>> shift;
        let id = -1;
        for (;;) {
          const x = t[2 * h + 1];
          if (x === 0) break;
          if (t[2 * h] === v) { id = x - 1; break; }
          h = (h + 1) & mask;
        }
        if (id < 0) {
          id = this.newId(v);
          t[2 * h] = v;
          t[2 * h + 1] = id + 1;
          if (++this.smallUsed * 4 > mask * 3) {
            this.growSmall();
            t = this.small;
            shift = 32 - this.smallBits;
            mask = (1 << this.smallBits) - 1;
          }
        }
        out[base + k] = id;
      } else {
        out[base + k] = v >= 0 ? this.internNumber(v) : this.internString(strs[-1 - v]);
      }
    }
  }

  /** ids below 2^31 (nearly all real ones): int32 pairs, half the memory traffic of float64 keys */
  private internSmall(n: number): number {
    const t = this.small;
    const shift = 32 - this.smallBits, mask = (1 << this.smallBits) - 1;
    let h = Math.imul(n, 0x9e3779b1) >>> shift;
    for (;;) {
      const v = t[2 * h + 1];
      if (v === 0) break;
      if (t[2 * h] === n) return v - 1;
      h = (h + 1) & mask;
    }
    const id = this.newId(n);
    t[2 * h] = n;
    t[2 * h + 1] = id + 1;
    if (++this.smallUsed * 4 > mask * 3) this.growSmall();
    return id;
  }

  private growSmall(): void {
    const old = this.small;
    const bits = ++this.smallBits;
    const t = new Int32Array(2 << bits), mask = (1 << bits) - 1, shift = 32 - bits;
    for (let i = 0; i < old.length; i += 2) {
      if (old[i + 1] === 0) continue;
      let h = Math.imul(old[i], 0x9e3779b1) >>> shift;
      while (t[2 * h + 1] !== 0) h = (h + 1) & mask;
      t[2 * h] = old[i];
      t[2 * h + 1] = old[i + 1];
    }
    this.small = t;
  }

  /**
   * Short alphanumeric ids share the string map (so the same id reached through internString is
   * the same index); the table only saves building a string for ids already seen.
   */
  private internAlnum(a: number, buf: Uint8Array, s: number, e: number): number {
    const t = this.alnum;
    const mask = (1 << this.alnumBits) - 1;
    let h = hash(a, this.alnumBits);
    for (;;) {
      const v = t[2 * h + 1];
      if (v === 0) break;
      if (t[2 * h] === a) return v - 1;
      h = (h + 1) & mask;
    }
    const id = this.internStringRaw(Buffer.prototype.toString.call(buf, 'utf8', s, e));
    t[2 * h] = a;
    t[2 * h + 1] = id + 1;
    if (++this.alnumUsed * 2 > mask) {
      this.alnum = rehash(t, this.alnumBits + 1);
      this.alnumBits++;
    }
    return id;
  }

  private internStringRaw(s: string): number {
    const v = this.byString.get(s);
    if (v !== undefined) return v;
    const id = this.newId(NaN);
    this.byString.set(s, id);
    this.strs.set(id, s);
    return id;
  }

  private newId(num: number): number {
    const id = this.size++;
    if (id === this.nums.length) {
      const g = new Float64Array(this.nums.length * 2);
      g.set(this.nums);
      this.nums = g;
    }
    this.nums[id] = num;
    return id;
  }

  /** The id strings by index (numeric ids in their integer spelling). */
  strings(): string[] {
    const out = new Array<string>(this.size);
    for (let i = 0; i < this.size; i++) {
      const n = this.nums[i];
      out[i] = n === n ? String(n) : this.strs.get(i)!;
    }
    return out;
  }
}

type InternRun = AddonFunctions['internSmallRun'];

/**
 * The addon's probe loop for internBatch (native/data/intern.cc), unless the addon is missing or
 * CMDCM_NO_NATIVE_SCAN=1 (the switch of the addon's reader fast path, which this belongs to).
 */
function nativeRun(): InternRun | undefined {
  if (process.env.CMDCM_NO_NATIVE_SCAN === '1') return undefined;
  return loadAddon()?.internSmallRun;
}

function rehash(old: Float64Array, bits: number): Float64Array {
  const t = new Float64Array(2 << bits), mask = (1 << bits) - 1;
  for (let i = 0; i < old.length; i += 2) {
    if (old[i + 1] === 0) continue;
    let h = hash(old[i], bits);
    while (t[2 * h + 1] !== 0) h = (h + 1) & mask;
    t[2 * h] = old[i];
    t[2 * h + 1] = old[i + 1];
  }
  return t;
}

/** Exact base-37 number of a 1..10 byte [0-9a-z] id (digit values 1..36, so lengths never collide), or -1. */
function alnumKey(buf: Uint8Array, s: number, e: number): number {
  if (e - s > 10) return -1;
  let k = 0;
  for (let i = s; i < e; i++) {
    const c = buf[i];
    let d: number;
    if (c >= 48 && c <= 57) d = c - 47;
    else if (c >= 97 && c <= 122) d = c - 86;
    else return -1;
    k = k * 37 + d;
  }
  return k;
}

function hash(n: number, bits: number): number {
  const lo = n >>> 0, hi = (n / 4294967296) >>> 0;
  return Math.imul(lo ^ Math.imul(hi, 0x85ebca6b), 0x9e3779b1) >>> (32 - bits);
}

/** The numeric value of a normalizable integer id in buf[s, e), or -1. */
export function numericId(buf: Uint8Array, s: number, e: number): number {
  const len = e - s;
  if (len === 0 || (buf[s] === 48 && len > 1 && buf[s + 1] !== 46)) return -1;
  let n = 0, i = s;
  for (; i < e; i++) {
    const c = buf[i] - 48;
    if (c < 0 || c > 9) break;
    n = n * 10 + c;
  }
  if (i === e) return len <= 15 ? n : -1;
  // an integer-valued float: digits '.' zeros
  if (buf[i] !== 46 || i === s || i + 1 === e || i - s > 15) return -1;
  for (let j = i + 1; j < e; j++) if (buf[j] !== 48) return -1;
  return n;
}

export function numericIdOfString(id: string): number {
  if (id.length > 40) return -1;
  const b = new Uint8Array(id.length);
  for (let i = 0; i < id.length; i++) {
    const c = id.charCodeAt(i);
    if (c > 127) return -1;
    b[i] = c;
  }
  return numericId(b, 0, b.length);
}
