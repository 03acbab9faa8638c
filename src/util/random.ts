/**
 * mulberry32: a tiny seeded uniform [0, 1) stream for initialisation, synthetic benchmark inputs
 * and property tests, where results must not depend on tfjs's RNG. (The trainer's shuffling uses
 * src/train/rng.ts, whose state a checkpoint stores.)
 */
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
