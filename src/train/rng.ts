/**
 * Seeded PRNG whose whole state is four uint32s, so a checkpoint can store it and a resumed run
 * draws exactly the numbers an uninterrupted one would (xoshiro128**, seeded through splitmix32 so
 * that nearby seeds give unrelated streams).
 */
export type RngState = [number, number, number, number];

function splitmix32(x: number): [number, number] {
  x = (x + 0x9e3779b9) >>> 0;
  let z = x;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
  return [x, (z ^ (z >>> 16)) >>> 0];
}

export class Rng {
  private s: Uint32Array;

  constructor(seedOrState: number | RngState) {
    this.s = new Uint32Array(4);
    if (typeof seedOrState === 'number') {
      let x = seedOrState >>> 0;
      for (let i = 0; i < 4; i++) {
        const [nx, out] = splitmix32(x);
        x = nx;
        this.s[i] = out;
      }
      // the all-zero state is a fixed point of xoshiro
      if ((this.s[0] | this.s[1] | this.s[2] | this.s[3]) === 0) this.s[0] = 1;
    } else {
      this.s.set(seedOrState);
    }
  }

  state(): RngState {
    return [this.s[0], this.s[1], this.s[2], this.s[3]];
  }

  /** uniform uint32 */
  nextU32(): number {
    const s = this.s;
    const r = Math.imul(rotl(Math.imul(s[1], 5) >>> 0, 7), 9) >>> 0;
    const t = (s[1] << 9) >>> 0;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 11);
    return r;
  }

  /** uniform in [0, 1) with 32 bits of resolution */
  next(): number {
    return this.nextU32() / 4294967296;
  }

  /** uniform integer in [0, n) (n ≤ 2^32), without modulo bias */
  int(n: number): number {
    const limit = Math.floor(4294967296 / n) * n;
    let x: number;
    do x = this.nextU32();
    while (x >= limit);
    return x % n;
  }

  /** standard normal (Box–Muller; no cached spare, so the state stays four words) */
  normal(): number {
    let u = 0;
    while (u === 0) u = this.next();
    const v = this.next();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }

  /** In-place Fisher–Yates shuffle. */
  shuffle<T extends { length: number; [i: number]: number }>(a: T): T {
    for (let i = a.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const t = a[i];
      a[i] = a[j];
      a[j] = t;
    }
    return a;
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}
