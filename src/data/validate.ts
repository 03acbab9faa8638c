import { resolve, sep, join } from 'node:path';
import { CmdcmError } from '../util/errors.js';
import { isInt, isObj, kindOf, refusePrototypeKeys } from '../util/json-safe.js';
import type { Schema } from './batch.js';
import type { DatasetMeta } from './dataset.js';
import type { Column } from './shards.js';

/**
 * One validation of everything read from a dataset directory, before any work starts: meta.json
 * (types, ranges, shard paths inside the dataset, counts that agree with each other), the schema it
 * holds (also used for a run's config.json), and each shard's columns against the schema. Every
 * message names the file; a dataset that passes cannot drive a reader out of bounds.
 */

/** meta.json's signature: `"cmdcm": "dataset"`. Datasets written before it carry none and are recognised by content alone. */
export const DATASET_MARK = 'dataset';

const RESOLUTIONS = ['second', 'hour', 'day'];
const FORMATS = ['tianchi2014', 'taobao2017', 'tmall2015', 'generic'];
/** Upper bound on embedding table rows: 2^28 rows of even 8 floats are 8 GiB already. */
export const MAX_TABLE_ROWS = 2 ** 28;
const MAX_SEQ_LEN = 1000;
const BEHAVIOR_ROWS = 4;
const GAP_ROWS = 16;

export function validateSchema(s: unknown, where: string): asserts s is Schema {
  const bad = (why: string) => new CmdcmError(`${where}: schema ${why}`);
  if (!isObj(s)) throw bad(`must be an object, got ${kindOf(s)}`);
  if (!isInt(s.tableRows, 1, MAX_TABLE_ROWS)) throw bad(`"tableRows" must be an integer in [1, ${MAX_TABLE_ROWS}], got ${kindOf(s.tableRows)}`);
  if (!isInt(s.seqLen, 1, MAX_SEQ_LEN)) throw bad(`"seqLen" must be an integer in [1, ${MAX_SEQ_LEN}], got ${kindOf(s.seqLen)}`);
  const strs = (k: string, max: number) => {
    const a = s[k];
    if (!Array.isArray(a) || a.length > max || !a.every((x) => typeof x === 'string' && x.length > 0 && x.length < 100)) throw bad(`"${k}" must be a list of at most ${max} names`);
    if (new Set(a).size !== a.length) throw bad(`"${k}" names a column twice`);
    return a as string[];
  };
  const fields = strs('fields', 64);
  if (fields.length === 0) throw bad('"fields" is empty');
  strs('dense', 4096);
  const hash = s.hash;
  if (!Array.isArray(hash) || hash.length === 0 || hash.length > 128) throw bad('"hash" must be a non-empty list of bucket ranges');
  const names = new Set<string>();
  let end = 1;
  for (const h of hash as unknown[]) {
    if (!isObj(h) || typeof h.name !== 'string' || !isInt(h.offset, 1, MAX_TABLE_ROWS) || !isInt(h.size, 1, MAX_TABLE_ROWS)) throw bad('"hash" entries must be { name, offset >= 1, size >= 1 }');
    if (names.has(h.name)) throw bad(`"hash" lists '${h.name}' twice`);
    names.add(h.name);
    if (h.offset + h.size > s.tableRows) throw bad(`hash range '${h.name}' [${h.offset}, ${h.offset + h.size}) ends past tableRows ${s.tableRows}`);
    end = Math.max(end, h.offset + h.size);
  }
  for (const f of [...fields, 'behavior', 'gap']) if (!names.has(f)) throw bad(`has no '${f}' hash range`);
  const size = (n: string) => (hash as { name: string; size: number }[]).find((h) => h.name === n)!.size;
  if (size('behavior') < BEHAVIOR_ROWS) throw bad(`'behavior' range holds ${size('behavior')} rows, needs ${BEHAVIOR_ROWS}`);
  if (size('gap') < GAP_ROWS) throw bad(`'gap' range holds ${size('gap')} rows, needs ${GAP_ROWS}`);
}

/**
 * meta.json of the dataset in `dir` (already parsed). Shard paths must stay inside `dir/shards`;
 * counts must agree with the shard list.
 */
export function validateDatasetMeta(meta: unknown, metaPath: string, dir: string, version: number): asserts meta is DatasetMeta {
  const bad = (why: string) => new CmdcmError(`${metaPath}: ${why}; re-run \`cmdcm prepare\``);
  if (!isObj(meta)) throw new CmdcmError(`${metaPath}: not a cmdcm dataset's meta.json (it holds ${kindOf(meta)}, not an object)`);
  refusePrototypeKeys(meta, metaPath);
  if (meta.cmdcm !== undefined && meta.cmdcm !== DATASET_MARK) throw new CmdcmError(`${metaPath}: not a cmdcm dataset's meta.json ("cmdcm" is ${kindOf(meta.cmdcm)})`);
  if (meta.formatVersion !== version) {
    throw new CmdcmError(`${metaPath}: dataset format version ${kindOf(meta.formatVersion)}, but this cmdcm reads version ${version}; re-run \`cmdcm prepare\``);
  }
  if (!RESOLUTIONS.includes(meta.resolution as string)) throw bad(`"resolution" must be one of ${RESOLUTIONS.join(', ')}, got ${kindOf(meta.resolution)}`);
  if (!FORMATS.includes(meta.timeFormat as string)) throw bad(`"timeFormat" must be one of ${FORMATS.join(', ')}, got ${kindOf(meta.timeFormat)}`);
  const promos = meta.promotions;
  if (!Array.isArray(promos) || promos.length === 0 || promos.length > 1000) throw bad('"promotions" must be a non-empty list');
  for (const [i, p] of (promos as unknown[]).entries()) {
    if (!isObj(p) || typeof p.date !== 'string' || !/^\d{4}-\d{2}-\d{2}$/.test(p.date) || !isInt(p.day, 0, 1e6) || !isInt(p.preDays, 1, 366)) {
      throw bad(`promotions[${i}] must be { date: "YYYY-MM-DD", day, preDays in [1, 366] }`);
    }
  }
  if (!isInt(meta.target, 0, promos.length - 1)) throw bad(`"target" must be an index into the ${promos.length} promotions, got ${kindOf(meta.target)}`);
  if (typeof meta.targetOutcomeKnown !== 'boolean') throw bad('"targetOutcomeKnown" must be true or false');
  if (!isInt(meta.validDays, 0, 366)) throw bad(`"validDays" must be an integer in [0, 366], got ${kindOf(meta.validDays)}`);
  if (!isInt(meta.asOf, -(2 ** 31), 2 ** 31 - 1)) throw bad(`"asOf" must be a time in local seconds, got ${kindOf(meta.asOf)}`);
  const h = meta.labelHorizons;
  if (!isObj(h) || !isInt(h.atc, 0, 24 * 366) || !isInt(h.direct, 0, 24 * 366)) throw bad('"labelHorizons" must be { atc, direct } in whole hours');
  validateSchema(meta.schema, metaPath);
  const c = meta.counts;
  if (!isObj(c)) throw bad('"counts" must be an object');
  for (const k of ['events', 'users', 'items', 'samples']) if (!isInt(c[k], 0, 2 ** 40)) throw bad(`"counts.${k}" must be an integer >= 0, got ${kindOf(c[k])}`);
  if (!isObj(c.perSplit)) throw bad('"counts.perSplit" must be an object');
  for (const k of ['train', 'valid', 'test']) if (!isInt(c.perSplit[k], 0, 2 ** 31 - 1)) throw bad(`"counts.perSplit.${k}" must be an integer >= 0, got ${kindOf(c.perSplit[k])}`);
  const shards = meta.shards;
  if (!Array.isArray(shards) || shards.length > 1e6) throw bad('"shards" must be a list');
  const root = resolve(dir, 'shards') + sep;
  const seen = new Set<string>();
  let total = 0, test = 0;
  for (const [i, s] of (shards as unknown[]).entries()) {
    if (!isObj(s) || typeof s.file !== 'string' || !isInt(s.n, 0, 2 ** 31 - 1) || !isInt(s.promo, 0, promos.length - 1) || typeof s.test !== 'boolean') {
      throw bad(`shards[${i}] must be { file, n >= 0, promo: an index into the promotions, test: true or false }`);
    }
    if (s.test && s.promo !== meta.target) throw bad(`shards[${i}] is a test shard of promotion ${s.promo}, not of the target ${meta.target}`);
    const abs = resolve(dir, s.file);
    if (s.file.includes('\0') || !abs.startsWith(root) || abs.slice(root.length).includes(sep)) {
      throw bad(`shards[${i}].file '${s.file}' is not a file inside ${join(dir, 'shards')}`);
    }
    if (seen.has(abs)) throw bad(`shards[${i}].file '${s.file}' is listed twice`);
    seen.add(abs);
    total += s.n;
    if (s.test) test += s.n;
  }
  if (total !== c.samples) throw bad(`"counts.samples" is ${c.samples} but the shards hold ${total}`);
  if (test !== c.perSplit.test) throw bad(`"counts.perSplit.test" is ${c.perSplit.test} but the test shards hold ${test}`);
  if ((c.perSplit.train as number) + (c.perSplit.valid as number) !== total - test) {
    throw bad(`"counts.perSplit" train ${c.perSplit.train} + valid ${c.perSplit.valid} should be the ${total - test} samples of the other shards`);
  }
}

/** The columns a shard holds: name → [dtype, elements per sample | 'n' per-sample | 'ev' per event | 'blocks']. */
const SHARD_COLUMNS: Record<string, ['i32' | 'f32' | 'u8', 'F' | 'S' | 3 | 1 | 'ev' | 'blocks']> = {
  fields: ['i32', 'F'], dense: ['f32', 'S'], labels: ['u8', 3], mask: ['u8', 3],
  user: ['i32', 1], item: ['i32', 1], time: ['i32', 1], daysToPromo: ['i32', 1], seqBlock: ['i32', 1],
  evStart: ['i32', 'blocks'], evItem: ['i32', 'ev'], evCategory: ['i32', 'ev'], evBehavior: ['u8', 'ev'], evTime: ['i32', 'ev'],
};

const dtypeOf = (a: Column) => (a instanceof Int32Array ? 'i32' : a instanceof Float32Array ? 'f32' : 'u8');

/**
 * A shard's columns against the dataset's schema and meta.json entry: every column present with the
 * right type and length, every table row, user, item, block and label inside its range. Runs once
 * per shard load (a pass over the columns, small next to reading them).
 */
export function validateShardColumns(cols: Record<string, Column>, schema: Schema, entry: { n: number }, counts: { users: number; items: number }, file: string): void {
  const bad = (why: string) => new CmdcmError(`${file}: ${why}; re-run \`cmdcm prepare\``);
  const n = entry.n, F = schema.fields.length, S = schema.dense.length;
  const blocks = cols.evStart ? cols.evStart.length - 1 : -1;
  const ev = cols.evItem ? cols.evItem.length : -1;
  if (blocks < 0) throw bad('column \'evStart\' is missing');
  for (const [name, [dtype, per]] of Object.entries(SHARD_COLUMNS)) {
    const a = cols[name];
    if (!a) throw bad(`column '${name}' is missing`);
    if (dtypeOf(a) !== dtype) throw bad(`column '${name}' is ${dtypeOf(a)}, expected ${dtype}`);
    const want = per === 'F' ? n * F : per === 'S' ? n * S : per === 'ev' ? ev : per === 'blocks' ? blocks + 1 : n * per;
    if (a.length !== want) throw bad(`column '${name}' holds ${a.length} values, expected ${want} (${n} samples listed in meta.json)`);
  }
  const R = schema.tableRows;
  const inRange = (name: string, lo: number, hi: number) => {
    const a = cols[name];
    for (let i = 0; i < a.length; i++) {
      const x = a[i];
      if (!(x >= lo && x < hi)) throw bad(`column '${name}' value ${x} at ${i} is outside [${lo}, ${hi})`);
    }
  };
  inRange('fields', 0, R);
  inRange('evItem', 0, R);
  inRange('evCategory', 0, R);
  inRange('evBehavior', 0, BEHAVIOR_ROWS);
  inRange('labels', 0, 2);
  inRange('mask', 0, 2);
  inRange('user', 0, counts.users);
  inRange('item', 0, counts.items);
  inRange('seqBlock', 0, blocks);
  inRange('daysToPromo', 0, 2 ** 31 - 1);
  const st = cols.evStart;
  if (st[0] !== 0 || st[blocks] !== ev) throw bad(`column 'evStart' must run from 0 to the ${ev} events`);
  for (let b = 0; b < blocks; b++) if (st[b + 1] < st[b]) throw bad(`column 'evStart' decreases at block ${b}`);
  const d = cols.dense;
  for (let i = 0; i < d.length; i++) if (!Number.isFinite(d[i])) throw bad(`column 'dense' holds ${d[i]} at ${i}`);
}
