import type { Promotion, LogFormat, TimeResolution } from './types.js';
import type { Schema, SampleColumns } from './batch.js';

/**
 * A prepared dataset directory (written by `cmdcm prepare`): meta.json + binary sample shards +
 * id vocabularies. This file declares the contract; the implementation lives beside it.
 *
 * Splits (DESIGN.md "Label availability", the as-of protocol of asof.ts):
 *  - 'train': samples of historical promotions (all labels) except the validation days, plus the
 *    target's clicks before `asOf`, labelled from what was logged before it: delayed masked,
 *    atc/direct censored at asOf and masked while the click is younger than `labelHorizons`.
 *  - 'valid': the last `validDays` days of the latest historical pre-window (all labels).
 *  - 'test':  the target's clicks at or after `asOf` (never in training), labelled with their
 *    outcome up to the promotion day when the log reaches it (meta.targetOutcomeKnown).
 */
export type Split = 'train' | 'valid' | 'test';

export interface DatasetMeta {
  /** the signature that tells a cmdcm dataset from any other meta.json: always 'dataset' (absent in older datasets) */
  cmdcm?: 'dataset';
  formatVersion: number;
  createdAt: string;
  sources: { file: string; format: LogFormat; rows: number; badRows: number }[];
  resolution: TimeResolution;
  promotions: Promotion[];
  /** index into promotions */
  target: number;
  targetOutcomeKnown: boolean;
  /** the serving time, local seconds: the target's clicks before it train, the rest test */
  asOf: number;
  /** asOf as 'YYYY-MM-DD HH:MM' (local) */
  asOfText: string;
  /** hours a target training click must be old before its censored atc / direct label counts */
  labelHorizons: LabelHorizons;
  validDays: number;
  schema: Schema;
  counts: { events: number; users: number; items: number; samples: number; perSplit: Record<Split, number>; perBehavior: Record<string, number> };
  /** time format of the input, so predict can print times exactly as in the log */
  timeFormat: LogFormat;
  badRows: Record<string, number>;
  /** `test`: the target's clicks at or after asOf */
  shards: { file: string; n: number; promo: number; test: boolean }[];
  /** first and last day of the log (ISO dates) */
  dateRange?: [string, string];
  /** samples and label positives per promotion (same order as promotions) */
  perPromotion?: { date: string; preDays: number; samples: number; positives: Record<'direct' | 'atc' | 'delayed', number> }[];
  /** the first few bad rows as file:line: reason */
  badExamples?: string[];
  /** users with at least one sample */
  usersWithSamples?: number;
}

export interface Dataset {
  dir: string;
  meta: DatasetMeta;
  schema: Schema;
  /**
   * All samples of a split, contiguous. Masks already reflect the split's label availability.
   * With `lazySequences` the behavior sequences are not materialized (4·L int32 per sample): the
   * columns keep each shard's compact event histories and batch assembly packs the sequences of
   * the samples it gathers (SampleColumns.sequences). Training, evaluation and prediction load so.
   */
  load(split: Split, opts?: { lazySequences?: boolean }): Promise<SampleColumns>;
  /** Raw id strings by interned index, for predict output. */
  vocab(): Promise<{ users: string[]; items: string[] }>;
}

// ---------------------------------------------------------------------------------------------
// Implementation (dataset directory layout: meta.json, shards/p<promo>-<k>.bin, vocab/users.txt,
// vocab/items.txt). meta.json is written last by prepare, inside a temp dir renamed into place, so
// a directory with a meta.json is complete.

import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { CmdcmError } from '../util/errors.js';
import { allocColumns, type SequenceSource } from './batch.js';
import { readShard, type Column } from './shards.js';
import { resolutionSeconds } from './types.js';
import { packChunk } from './sequences.js';
import { validateDatasetMeta, validateShardColumns } from './validate.js';
import { maskImmatureLabels, type LabelHorizons } from './asof.js';

/** Version of the dataset directory layout and meta.json; shards carry their own version. */
export const DATASET_FORMAT_VERSION = 3; // 3: i_click is clicks per week since the log's first day

/** Index of the latest historical promotion (the validation source), or -1 when there is none. */
export function validPromo(meta: Pick<DatasetMeta, 'promotions' | 'target'>): number {
  let best = -1;
  meta.promotions.forEach((p, i) => {
    if (i !== meta.target && (best < 0 || p.day > meta.promotions[best].day)) best = i;
  });
  return best;
}

export async function openDataset(dir: string): Promise<Dataset> {
  try {
    const st = await fsp.stat(dir);
    if (!st.isDirectory()) throw new CmdcmError(`${dir}: not a dataset directory (it is a file)`);
  } catch (e) {
    if (e instanceof CmdcmError) throw e;
    throw new CmdcmError(`${dir}: dataset directory not found (create it with \`cmdcm prepare --out ${dir}\`)`);
  }
  const metaPath = join(dir, 'meta.json');
  let text: string;
  try {
    text = await fsp.readFile(metaPath, 'utf8');
  } catch {
    throw new CmdcmError(`${metaPath}: missing: ${dir} is not a complete dataset (an interrupted or failed prepare?); re-run \`cmdcm prepare\``);
  }
  let meta: DatasetMeta;
  try {
    meta = JSON.parse(text) as DatasetMeta;
  } catch (e) {
    throw new CmdcmError(`${metaPath}: not valid JSON (${(e as Error).message})`);
  }
  validateDatasetMeta(meta, metaPath, dir, DATASET_FORMAT_VERSION);
  if (meta.formatVersion !== DATASET_FORMAT_VERSION) {
    throw new CmdcmError(`${metaPath}: dataset format version ${meta.formatVersion}, but this cmdcm reads version ${DATASET_FORMAT_VERSION}; re-run \`cmdcm prepare\``);
  }
  for (const s of meta.shards) {
    try {
      await fsp.access(join(dir, s.file));
    } catch {
      throw new CmdcmError(`${join(dir, s.file)}: shard file is missing (listed in ${metaPath}); re-run \`cmdcm prepare\``);
    }
  }
  const schema = meta.schema;
  for (const f of ['behavior', 'gap']) {
    if (!schema.hash.some((h) => h.name === f)) throw new CmdcmError(`${metaPath}: schema has no '${f}' hash range`);
  }
  const res = resolutionSeconds(meta.resolution);
  const vp = validPromo(meta);
  let vocabCache: { users: string[]; items: string[] } | undefined;

  async function load(split: Split, opts: { lazySequences?: boolean } = {}): Promise<SampleColumns> {
    if (split !== 'train' && split !== 'valid' && split !== 'test') throw new CmdcmError(`unknown split '${split}' (train, valid or test)`);
    const total = meta.counts.perSplit[split];
    const lazy = opts.lazySequences ? new LazySequences(schema, res, total) : undefined;
    // lazily: every column but the sequences, which the source packs on demand
    const out = lazy ? { ...allocColumns({ ...schema, seqLen: 0 }, total), seqLen: new Int32Array(0), sequences: lazy } : allocColumns(schema, total);
    const F = schema.fields.length, S = schema.dense.length;
    const validFrom = vp >= 0 ? meta.promotions[vp].day - meta.validDays : Infinity;
    let m = 0;
    for (const sh of meta.shards) {
      const isTarget = sh.promo === meta.target;
      if ((split === 'test') !== sh.test) continue;
      if (split === 'valid' && sh.promo !== vp) continue;
      const file = join(dir, sh.file);
      const { columns: c } = await readShard(file);
      validateShardColumns(c, schema, sh, meta.counts, file);
      const n = (c.user as Int32Array).length;
      if (n !== sh.n) throw new CmdcmError(`${file}: holds ${n} samples, meta.json says ${sh.n}; re-run \`cmdcm prepare\``);
      const time = c.time as Int32Array;
      const keep: number[] = [];
      for (let k = 0; k < n; k++) {
        if (split === 'test' || isTarget) { keep.push(k); continue; }
        const late = sh.promo === vp && Math.floor(time[k] / 86400) >= validFrom;
        if ((split === 'valid') === late) keep.push(k);
      }
      if (m + keep.length > total) throw new CmdcmError(`${metaPath}: counts.perSplit.${split} = ${total} is less than the shards hold; re-run \`cmdcm prepare\``);
      const lab = c.labels as Uint8Array, mask = c.mask as Uint8Array;
      const fields = c.fields as Int32Array, dense = c.dense as Float32Array;
      for (let q = 0; q < keep.length; q++) {
        const k = keep[q], o = m + q;
        out.fields.set(fields.subarray(k * F, k * F + F), o * F);
        out.dense.set(dense.subarray(k * S, k * S + S), o * S);
        for (let t = 0; t < 3; t++) {
          out.labels[o * 3 + t] = lab[k * 3 + t];
          out.mask[o * 3 + t] = mask[k * 3 + t];
        }
        out.user[o] = (c.user as Int32Array)[k];
        out.item[o] = (c.item as Int32Array)[k];
        out.time[o] = time[k];
        out.daysToPromo[o] = (c.daysToPromo as Int32Array)[k];
        out.promo[o] = sh.promo;
      }
      if (isTarget && split === 'train') maskImmatureLabels(out.time, out.mask, m, m + keep.length, meta.asOf, meta.labelHorizons);
      if (lazy) lazy.addShard(c, keep, m);
      else packChunk(c, schema, res, out.seq, out.seqLen, m, keep.length === n ? undefined : keep);
      m += keep.length;
    }
    if (m !== total) throw new CmdcmError(`${metaPath}: counts.perSplit.${split} = ${total} but the shards hold ${m}; re-run \`cmdcm prepare\``);
    return out;
  }

  async function vocab(): Promise<{ users: string[]; items: string[] }> {
    if (vocabCache) return vocabCache;
    const read = async (name: string) => {
      const p = join(dir, 'vocab', name);
      try {
        const t = await fsp.readFile(p, 'utf8');
        return t.length === 0 ? [] : t.slice(0, t.endsWith('\n') ? -1 : undefined).split('\n');
      } catch {
        throw new CmdcmError(`${p}: vocabulary file is missing; re-run \`cmdcm prepare\``);
      }
    };
    vocabCache = { users: await read('users.txt'), items: await read('items.txt') };
    return vocabCache;
  }

  return { dir, meta, schema, load, vocab };
}

/** The shard columns packChunk reads: the samples' history block and time, and the compact events. */
const SEQUENCE_COLUMNS = ['seqBlock', 'time', 'evTime', 'evItem', 'evCategory', 'evBehavior', 'evStart'] as const;

/**
 * SequenceSource over a split's shards: keeps each shard's compact event columns (copies, so the
 * shard's file buffer is freed) and, per sample of the split, its shard and row there. Packing a
 * batch groups its samples by shard and packs each group with the same packChunk an eager load uses,
 * so the sequences are identical.
 */
class LazySequences implements SequenceSource {
  private readonly shards: Record<string, Column>[] = [];
  private readonly shardOf: Int32Array;
  private readonly rowOf: Int32Array;
  private tmpSeq = new Int32Array(0);
  private tmpLen = new Int32Array(0);

  constructor(private readonly schema: Schema, private readonly resolution: number, private readonly n: number) {
    this.shardOf = new Int32Array(n);
    this.rowOf = new Int32Array(n);
  }

  /** Samples `keep` (rows of shard columns `c`) are the split's samples at, at + 1, … */
  addShard(c: Record<string, Column>, keep: number[], at: number): void {
    const s = this.shards.length;
    this.shards.push(Object.fromEntries(SEQUENCE_COLUMNS.map((k) => [k, c[k].slice()])));
    for (let q = 0; q < keep.length; q++) {
      this.shardOf[at + q] = s;
      this.rowOf[at + q] = keep[q];
    }
  }

  pack(idx: Int32Array, seq: Int32Array, seqLen: Int32Array): void {
    const W = this.schema.seqLen * 4, m = idx.length;
    if (seqLen.length < m || seq.length < m * W) throw new RangeError(`sequences: output holds fewer than ${m} samples`);
    // positions of the batch grouped by shard (counting sort), so each shard packs once
    const S = this.shards.length;
    const start = new Int32Array(S + 1);
    for (let i = 0; i < m; i++) {
      const k = idx[i];
      if (!(k >= 0 && k < this.n)) throw new RangeError(`sequences: sample ${k} is not in the split (${this.n} samples)`);
      start[this.shardOf[k] + 1]++;
    }
    for (let s = 0; s < S; s++) start[s + 1] += start[s];
    const pos = new Int32Array(m), fill = start.slice(0, S);
    for (let i = 0; i < m; i++) pos[fill[this.shardOf[idx[i]]]++] = i;
    if (this.tmpLen.length < m) {
      this.tmpSeq = new Int32Array(m * W);
      this.tmpLen = new Int32Array(m);
    }
    const rows = new Int32Array(m);
    for (let g = 0; g < m; g++) rows[g] = this.rowOf[idx[pos[g]]];
    for (let s = 0; s < S; s++) {
      const a = start[s], b = start[s + 1];
      if (b > a) packChunk(this.shards[s], this.schema, this.resolution, this.tmpSeq, this.tmpLen, a, rows.subarray(a, b));
    }
    for (let g = 0; g < m; g++) {
      const i = pos[g];
      seq.set(this.tmpSeq.subarray(g * W, g * W + W), i * W);
      seqLen[i] = this.tmpLen[g];
    }
  }
}
