/**
 * The seeded random streams, all in one place:
 * - `Rng`: xoshiro128**, seeded through splitmix32 so that nearby seeds give unrelated streams. Its
 *   whole state is four uint32s, so a checkpoint can store it and a resumed run draws exactly the
 *   numbers an uninterrupted one would (the trainer's shuffling and table init).
 * - `GeneratorRng`: the synthetic-log generator's draws on the same stream.
 * - `mulberry32`: a tiny uniform stream for initialisation, synthetic benchmark inputs and property
 *   tests, where results must not depend on tfjs's RNG.
 * - `boxMuller`: the one standard-normal transform every normal draw uses.
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
    return boxMuller(u, this.next());
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

/** A standard normal from two uniforms, u ∈ (0, 1] and v ∈ [0, 1) (Box–Muller, the cosine half). */
export function boxMuller(u: number, v: number): number {
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}

/**
 * The synthetic-log generator's draws (src/data/generate.ts) on Rng's stream. Its integer and
 * normal draws are not Rng's — `int` is ⌊next()·n⌋ (one draw, no rejection), `normal` takes
 * u = 1 − next() — and stay so: `cmdcm generate --seed N` writes byte-identical logs across
 * versions.
 */
export class GeneratorRng {
  private readonly s: Rng;

  constructor(seed: number) {
    this.s = new Rng(seed);
  }

  u32(): number {
    return this.s.nextU32();
  }

  /** uniform in [0, 1) */
  next(): number {
    return this.s.next();
  }

  /** integer in [0, n) as ⌊next()·n⌋ */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  normal(): number {
    const u = 1 - this.next();
    return boxMuller(u, this.next());
  }

  poisson(lambda: number): number {
    if (lambda > 30) return Math.max(0, Math.round(lambda + Math.sqrt(lambda) * this.normal()));
    const L = Math.exp(-lambda);
    let k = 0, p = 1;
    for (;;) {
      p *= this.next();
      if (p <= L) return k;
      k++;
    }
  }

  /** exponential with the given mean */
  exp(mean: number): number {
    return -Math.log(1 - this.next()) * mean;
  }
}

/** mulberry32: uniform [0, 1) from a 32-bit seed. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
