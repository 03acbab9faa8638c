import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { SampleColumns } from '../../data/batch.js';
import { fitCalibration, type DelayedCalibration } from '../../model/calibration.js';
import { CKPT_BEST, CKPT_LATEST } from '../../train/checkpoint.js';
import type { MpiStepRunner } from './runner.js';
import { placeholderState } from './runner.js';

/**
 * `fitRunCalibration` (src/train/calibrate.ts) for an MPI run, collective: the same checkpoint
 * (best.cmck, else the latest), the same samples (the valid split's clicks with a delayed label,
 * else the train split's), but scored by the ranks with their own rows of the checkpoint's table,
 * so no rank assembles the table. The fit on rank 0; null on the other ranks (and when there is
 * nothing to fit on).
 */
export async function calibrateMpiRun(runner: MpiStepRunner, runDir: string, valid: SampleColumns, train: SampleColumns, evalBatchSize: number): Promise<DelayedCalibration | null> {
  const w = runner.world, lead = w.rank === 0;
  // rank 0 decides from what it sees: every rank then reads the same files
  const path = w.bcastJson(lead ? [CKPT_BEST, CKPT_LATEST].map((f) => join(runDir, f)).find((p) => existsSync(p)) ?? null : undefined, 'calibration');
  if (path === null) return null;
  const withDelayed = (c: SampleColumns) => {
    const idx: number[] = [];
    for (let i = 0; i < c.n; i++) if (c.mask[i * 3 + 2] > 0) idx.push(i);
    return idx;
  };
  let cols = valid, idx = withDelayed(valid);
  if (idx.length === 0) {
    cols = train;
    idx = withDelayed(train);
  }
  if (idx.length === 0) return null;
  const p = await runner.predictFrom(path, placeholderState(), cols, evalBatchSize);
  if (!lead) return null;
  const y = new Float32Array(cols.n);
  for (let i = 0; i < cols.n; i++) y[i] = cols.labels[i * 3 + 2];
  return fitCalibration(p.delayed, y, idx);
}
