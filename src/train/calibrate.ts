import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { SampleColumns } from '../data/batch.js';
import type { Schema } from '../data/batch.js';
import { createModel } from '../model/index.js';
import type { ModelConfig } from '../model/config.js';
import { fitCalibration, type DelayedCalibration } from '../model/calibration.js';
import { CKPT_BEST, CKPT_LATEST, readCheckpoint } from './checkpoint.js';
import { predictColumns } from './columns.js';

/**
 * Fit the delayed calibration of a finished run (model/calibration.ts) with the parameters its
 * predictions will use (best.cmck, else the latest checkpoint): on the valid split when it holds
 * delayed labels, else on the train split's clicks whose delayed label is available (history).
 * Those are clicks of earlier promotions only: the target's outcome never reaches the fit.
 */
export async function fitRunCalibration(runDir: string, cfg: ModelConfig, schema: Schema, valid: SampleColumns, train: SampleColumns, evalBatchSize: number): Promise<DelayedCalibration | null> {
  const path = existsSync(join(runDir, CKPT_BEST)) ? join(runDir, CKPT_BEST) : join(runDir, CKPT_LATEST);
  if (!existsSync(path)) return null;
  const on = calibrationSamples(valid, train);
  if (!on) return null;
  const ck = await readCheckpoint(path);
  // the raw predictions: a resumed run's config may already hold a calibration
  const model = createModel({ ...cfg, delayedCalibration: null }, schema);
  const p = predictColumns(model, ck.state.params, ck.state.table, schema, on.cols, evalBatchSize);
  return fitOnSamples(p.delayed, on);
}

/** The clicks the calibration is fit on: the valid split's with a delayed label, else the train split's; null when neither has one. */
export function calibrationSamples(valid: SampleColumns, train: SampleColumns): { cols: SampleColumns; idx: number[] } | null {
  for (const cols of [valid, train]) {
    const idx: number[] = [];
    for (let i = 0; i < cols.n; i++) if (cols.mask[i * 3 + 2] > 0) idx.push(i);
    if (idx.length > 0) return { cols, idx };
  }
  return null;
}

/** The fit of the raw p_delayed of `on.cols` against their delayed labels, on the samples `on.idx` (null: fitCalibration found nothing to fit). */
export function fitOnSamples(pDelayed: Float32Array, on: { cols: SampleColumns; idx: number[] }): DelayedCalibration | null {
  const { cols, idx } = on;
  const y = new Float32Array(cols.n);
  for (let i = 0; i < cols.n; i++) y[i] = cols.labels[i * 3 + 2];
  return fitCalibration(pDelayed, y, idx);
}
