import { allocColumns, type FieldHash, type SampleColumns, type Schema } from '../../src/data/batch.js';
import { DENSE_FEATURES } from '../../src/data/dense-features.js';
import { Rng } from '../../src/util/rng.js';

/**
 * TESTING / BENCH data: a schema shaped like the one `prepare` builds for the Tianchi 2014 format
 * (user, item, category, geohash, days-to-promotion, hour; L-event sequences; the real dense
 * features) with chosen table sizes, and seeded random samples whose labels depend on their item
 * and user so a model has something to learn. Not a substitute for prepared data.
 */
export interface SyntheticSizes {
  users: number;
  items: number;
  categories: number;
  geohash: number;
  seqLen: number;
}

export const DEFAULT_SIZES: SyntheticSizes = { users: 1 << 14, items: 1 << 16, categories: 1 << 10, geohash: 1 << 12, seqLen: 50 };

export function syntheticSchema(s: Partial<SyntheticSizes> = {}): Schema {
  const z = { ...DEFAULT_SIZES, ...s };
  const sizes: [string, number][] = [['user', z.users], ['item', z.items], ['category', z.categories], ['geohash', z.geohash], ['dtp', 1024], ['hour', 2048], ['behavior', 4], ['gap', 16]];
  let off = 1; // row 0 = padding
  const hash: FieldHash[] = sizes.map(([name, size]) => {
    const h = { name, offset: off, size };
    off += size;
    return h;
  });
  return { fields: ['user', 'item', 'category', 'geohash', 'dtp', 'hour'], seqLen: z.seqLen, seqTokens: ['item', 'category', 'behavior', 'gap'], dense: [...DENSE_FEATURES], hash, tableRows: off };
}

export function syntheticSamples(schema: Schema, n: number, seed: number): SampleColumns {
  const r = new Rng(seed);
  const c = allocColumns(schema, n);
  const F = schema.fields.length, L = schema.seqLen, S = schema.dense.length;
  const h = (name: string) => schema.hash.find((x) => x.name === name)!;
  const [hu, hi, hc, hg, hd, hh, hb, hgap] = ['user', 'item', 'category', 'geohash', 'dtp', 'hour', 'behavior', 'gap'].map(h);
  // skewed popularity: a few items and users carry most events, as in real logs
  const skew = (size: number) => Math.min(size - 1, Math.floor(size * Math.pow(r.next(), 3)));
  for (let i = 0; i < n; i++) {
    const u = skew(hu.size), it = skew(hi.size), cat = it % hc.size, days = 1 + r.int(10), hour = r.int(24);
    c.fields.set([hu.offset + u, hi.offset + it, hc.offset + cat, hg.offset + (u % hg.size), hd.offset + days, hh.offset + hour], i * F);
    const len = r.int(L + 1);
    c.seqLen[i] = len;
    for (let k = 0; k < len; k++) {
      const e = skew(hi.size);
      c.seq.set([hi.offset + e, hc.offset + (e % hc.size), hb.offset + r.int(4), hgap.offset + r.int(16)], (i * L + k) * 4);
    }
    for (let s = 0; s < S; s++) c.dense[i * S + s] = r.int(5);
    const atc = r.next() < (it % 7 === 0 ? 0.5 : 0.1) ? 1 : 0;
    const delayed = atc && r.next() < (u % 3 === 0 ? 0.6 : 0.2) ? 1 : 0;
    const direct = r.next() < 0.02 ? 1 : 0;
    c.labels.set([direct, atc, delayed], i * 3);
    c.mask.set([1, 1, r.next() < 0.2 ? 0 : 1], i * 3);
    c.user[i] = u;
    c.item[i] = it;
    c.daysToPromo[i] = days;
  }
  return c;
}
