import type { Promotion, LogFormat, TimeResolution } from './types.js';
import type { Schema, SampleColumns } from './batch.js';

/**
 * A prepared dataset directory (written by `cmdcm prepare`): meta.json + binary sample shards +
 * id vocabularies. This file declares the contract; the implementation lives beside it.
 *
 * Splits (DESIGN.md "Label availability"):
 *  - 'train': samples of historical promotions (all labels) except the validation days, plus the
 *    target pre-window's samples with the delayed label masked (mask[delayed] = 0).
 *  - 'valid': the last `validDays` days of the latest historical pre-window (all labels).
 *  - 'test':  the target pre-window's samples, labelled with their promotion-day outcome when the
 *    log reaches the target's day (meta.targetOutcomeKnown); used only by evaluation.
 */
export type Split = 'train' | 'valid' | 'test';

export interface DatasetMeta {
  formatVersion: number;
  createdAt: string;
  sources: { file: string; format: LogFormat; rows: number; badRows: number }[];
  resolution: TimeResolution;
  promotions: Promotion[];
  /** index into promotions */
  target: number;
  targetOutcomeKnown: boolean;
  validDays: number;
  schema: Schema;
  counts: { events: number; users: number; items: number; samples: number; perSplit: Record<Split, number>; perBehavior: Record<string, number> };
  /** time format of the input, so predict can print times exactly as in the log */
  timeFormat: LogFormat;
  badRows: Record<string, number>;
  shards: { file: string; n: number; promo: number }[];
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
  /** All samples of a split, contiguous. Masks already reflect the split's label availability. */
  load(split: Split): Promise<SampleColumns>;
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
import { allocColumns } from './batch.js';
import { readShard } from './shards.js';
import { packChunk, resolutionSeconds } from './samples.js';

/** Version of the dataset directory layout and meta.json; shards carry their own version. */
export const DATASET_FORMAT_VERSION = 1;

/** Index of the latest historical promotion (the validation source), or -1 when there is none. */
export function validPromo(meta: Pick<DatasetMeta, 'promotions' | 'target'>): number {
  let best = -1;
  meta.promotions.forEach((p, i) => {
    if (i !== meta.target && (best < 0 || p.day > meta.promotions[best].day)) best = i;
  });
  return best;
}

/**
 * Which split a sample belongs to, from its promotion and click day. The target's samples belong to
 * both 'train' (delayed masked) and 'test'; this returns the non-test split.
 */
export function splitOf(meta: Pick<DatasetMeta, 'promotions' | 'target' | 'validDays'>, promo: number, day: number): 'train' | 'valid' {
  const vp = validPromo(meta);
  if (promo === vp && day >= meta.promotions[vp].day - meta.validDays) return 'valid';
  return 'train';
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

  async function load(split: Split): Promise<SampleColumns> {
    if (split !== 'train' && split !== 'valid' && split !== 'test') throw new CmdcmError(`unknown split '${split}' (train, valid or test)`);
    const total = meta.counts.perSplit[split];
    const out = allocColumns(schema, total);
    const F = schema.fields.length, S = schema.dense.length;
    const validFrom = vp >= 0 ? meta.promotions[vp].day - meta.validDays : Infinity;
    let m = 0;
    for (const sh of meta.shards) {
      const isTarget = sh.promo === meta.target;
      if (split === 'test' && !isTarget) continue;
      if (split === 'valid' && sh.promo !== vp) continue;
      const file = join(dir, sh.file);
      const { columns: c } = await readShard(file);
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
        // the target's promotion-day outcome never reaches training
        if (isTarget && split === 'train') out.mask[o * 3 + 2] = 0;
        out.user[o] = (c.user as Int32Array)[k];
        out.item[o] = (c.item as Int32Array)[k];
        out.time[o] = time[k];
        out.daysToPromo[o] = (c.daysToPromo as Int32Array)[k];
        out.promo[o] = sh.promo;
      }
      packChunk(c, schema, res, out.seq, out.seqLen, m, keep.length === n ? undefined : keep);
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
