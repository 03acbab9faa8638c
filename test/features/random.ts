/** Seeded random inputs for the feature property tests (deterministic, so a failure reproduces). */

import { mulberry32 } from '../../src/util/rng.js';

export type Rng = () => number;

/** mulberry32: a tiny seeded generator, uniform in [0, 1). */
export const rng: (seed: number) => Rng = mulberry32;

export function randInt(r: Rng, lo: number, hi: number): number {
  return lo + Math.floor(r() * (hi - lo + 1));
}

// Code unit ranges that exercise each UTF-8 length and the surrogate cases separately.
const RANGES: Array<[number, number]> = [
  [0x00, 0x7f], // 1 byte, including \0 and the \x1f separator
  [0x80, 0x7ff], // 2 bytes
  [0x800, 0xd7ff], // 3 bytes
  [0xe000, 0xffff], // 3 bytes above the surrogates
  [0xd800, 0xdbff], // lone high surrogate (unless a low one happens to follow)
  [0xdc00, 0xdfff], // lone low surrogate
];

/** A random string: empty, short or long; ASCII-only or any UTF-16 incl. astral and lone surrogates. */
export function randString(r: Rng, asciiOnly = false): string {
  const kind = r();
  const len = kind < 0.05 ? 0 : kind < 0.9 ? randInt(r, 1, 12) : randInt(r, 100, 600);
  let s = '';
  for (let i = 0; i < len; i++) {
    if (asciiOnly) {
      s += String.fromCharCode(randInt(r, 0, 0x7f));
      continue;
    }
    const p = r();
    if (p < 0.1) {
      s += String.fromCodePoint(randInt(r, 0x10000, 0x10ffff)); // a valid surrogate pair
    } else {
      const [lo, hi] = RANGES[Math.floor(r() * RANGES.length)];
      s += String.fromCharCode(randInt(r, lo, hi));
    }
  }
  return s;
}
