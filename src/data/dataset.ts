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
