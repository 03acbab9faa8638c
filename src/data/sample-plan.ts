import type { GroupedEvents } from './types.js';
import { BEHAVIORS, TASKS } from './types.js';
import type { Schema, FieldHash } from './batch.js';
import type { Calendar } from './calendar.js';
import type { SeenBefore } from './seen.js';
import { GAP_BUCKETS, hashVocab, layoutHash } from '../features/index.js';
import { CmdcmError } from '../util/errors.js';
import { DENSE_FEATURES } from './dense-features.js';

/**
 * The sample plan: the schema of a dataset (fields, table layout, dense features) and each id's
 * table row and stored index, decided once before any sample is built.
 */

/** Refuses feature names that are labels or derived from them (the AUC = 1.0 pitfall in DESIGN.md). */
export function assertNoLabelColumns(names: readonly string[]): void {
  const bad = names.filter((n) => (TASKS as readonly string[]).includes(n) || /^(label|target|y)(_|$)/i.test(n) || /(^|_)(direct|atc|delayed|label)(_|$)/i.test(n));
  if (bad.length) throw new CmdcmError(`refusing label-derived feature column(s): ${bad.join(', ')}`);
}

export interface SampleOptions {
  /** sequence length L (default 50) */
  seqLen?: number;
  /** upper bound for any field's bucket count (default 2^20) */
  maxBuckets?: number;
  /** fixed bucket counts per field name, overriding the data-driven choice (tests, re-use of a schema) */
  hashSizes?: Record<string, number>;
  /**
   * The ids logged before asOf (prepare passes them): the tables are sized by their counts and
   * they come first in the id order (plan.ids), so that what is logged after asOf cannot move a
   * training sample's rows or renumber its ids. Default: every id of the vocabularies.
   */
  seen?: SeenBefore;
}

/**
 * Bucket count for a field with `distinct` values: next power of two >= 2 x distinct (collisions
 * then hit about a fifth of the values), at least 16, capped by maxBuckets. Small enumerations
 * (<= 64 values: behavior, gap, hour, days-to-promotion) get 64 x their count: they have no
 * redundancy, so a collision would merge two values for every sample.
 */
export function bucketsFor(distinct: number, maxBuckets: number): number {
  const want = distinct <= 64 ? 64 * Math.max(distinct, 1) : 2 * distinct;
  let p = 16;
  while (p < want) p *= 2;
  return Math.min(p, maxBuckets);
}

/** Everything the builder needs besides the events: the schema and each value's table row. */
export interface SamplePlan {
  schema: Schema;
  rows: {
    user: Int32Array; item: Int32Array; category: Int32Array;
    seller?: Int32Array; brand?: Int32Array; geohash?: Int32Array;
    /** row of a missing side value (id -1) */
    missing: Record<string, number>;
    dtp: Int32Array; hour: Int32Array;
  };
  /**
   * The user / item index a sample stores (its `user` and `item` columns, the vocab files' order):
   * ids seen before asOf first, each group in string order; not the order of first appearance in
   * the file, so that deleting events after asOf cannot renumber the training samples' ids.
   */
  ids: { user: Int32Array; item: Int32Array };
}

/** rank[i] = position of strings[i] when the ids marked `first` come first, each group sorted (code units). */
export function stringRanks(strings: readonly string[], first?: Uint8Array): Int32Array {
  const grp = (i: number) => (first && first[i] === 1 ? 0 : first ? 1 : 0);
  const order = Int32Array.from(strings, (_, i) => i).sort((a, b) => grp(a) - grp(b) || (strings[a] < strings[b] ? -1 : strings[a] > strings[b] ? 1 : a - b));
  const rank = new Int32Array(strings.length);
  for (let k = 0; k < order.length; k++) rank[order[k]] = k;
  return rank;
}

/** The vocabulary in the order of `stringRanks`. */
export function inRankOrder(strings: readonly string[], rank: Int32Array): string[] {
  const out = new Array<string>(strings.length);
  for (let i = 0; i < strings.length; i++) out[rank[i]] = strings[i];
  return out;
}

export function planSamples(g: GroupedEvents, cal: Calendar, opts: SampleOptions = {}): SamplePlan {
  const seqLen = opts.seqLen ?? 50;
  if (!Number.isInteger(seqLen) || seqLen < 1) throw new CmdcmError(`--seq-len: must be a positive integer, got ${seqLen}`);
  const maxBuckets = opts.maxBuckets ?? 1 << 20;
  const maxPre = Math.max(...cal.promotions.map((p) => p.preDays));
  const side = (['seller', 'brand', 'geohash'] as const).filter((f) => g[f] !== undefined && g.vocab[f] !== undefined);
  const fields = ['user', 'item', 'category', ...side, 'dtp', ...(g.resolution === 'day' ? [] : ['hour'])];
  const distinct: Record<string, number> = {
    user: g.vocab.user.length, item: g.vocab.item.length, category: g.vocab.category.length,
    dtp: maxPre, hour: 24, behavior: BEHAVIORS.length, gap: GAP_BUCKETS,
  };
  for (const f of side) distinct[f] = g.vocab[f]!.length + 1; // + the missing value
  if (opts.seen) {
    const c = opts.seen.counts();
    for (const f of ['user', 'item', 'category', ...side]) distinct[f] = (c[f] ?? 0) + (f === 'user' || f === 'item' || f === 'category' ? 0 : 1);
  }
  const all = [...fields, 'behavior', 'gap'];
  // behavior and gap rows are offset + code (HACKING.md "Sequence packing"), not hashed
  const sizeOf = (name: string) => (name === 'behavior' || name === 'gap' ? distinct[name] : opts.hashSizes?.[name] ?? bucketsFor(distinct[name], maxBuckets));
  const { hash, tableRows } = layoutHash(all.map((name) => ({ name, size: sizeOf(name) })));
  const schema: Schema = { fields, seqLen, seqTokens: ['item', 'category', 'behavior', 'gap'], dense: [...DENSE_FEATURES], hash, tableRows };
  assertNoLabelColumns(schema.dense);
  assertNoLabelColumns(schema.fields);
  const rows = planRows(schema, g, maxPre);
  const ids = {
    user: stringRanks(g.vocab.user, opts.seen?.marksOf('user')),
    item: stringRanks(g.vocab.item, opts.seen?.marksOf('item')),
  };
  return { schema, rows, ids };
}

/**
 * Each id's table row under a schema's hash ranges: the ids of `g` hashed into their field's range,
 * the days-to-promotion rows (index = days, 1..maxPre) and the hour rows, and the row of a missing
 * side value. planSamples uses it with the ranges it chose; the online scorer with a run's.
 */
export function planRows(schema: Schema, g: GroupedEvents, maxPre: number): SamplePlan['rows'] {
  const fh = (name: string): FieldHash => {
    const h = schema.hash.find((x) => x.name === name);
    if (!h) throw new CmdcmError(`the schema has no '${name}' table range`);
    return h;
  };
  const nums = (n: number) => Array.from({ length: n }, (_, i) => String(i));
  const missing: Record<string, number> = {};
  const rows: SamplePlan['rows'] = {
    user: hashVocab(fh('user'), g.vocab.user),
    item: hashVocab(fh('item'), g.vocab.item),
    category: hashVocab(fh('category'), g.vocab.category),
    missing,
    dtp: hashVocab(fh('dtp'), nums(maxPre + 1)),
    hour: schema.fields.includes('hour') ? hashVocab(fh('hour'), nums(24)) : new Int32Array(24),
  };
  for (const f of ['seller', 'brand', 'geohash'] as const) {
    if (!schema.fields.includes(f)) continue;
    rows[f] = hashVocab(fh(f), g.vocab[f] ?? []);
    missing[f] = hashVocab(fh(f), [''])[0];
  }
  return rows;
}
