import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { SampleColumns } from '../../data/batch.js';
import type { DelayedCalibration } from '../../model/calibration.js';
import { calibrationSamples, fitOnSamples } from '../../train/calibrate.js';
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
  const on = calibrationSamples(valid, train);
  if (!on) return null;
  const p = await runner.predictFrom(path, placeholderState(), on.cols, evalBatchSize);
  return lead ? fitOnSamples(p.delayed, on) : null;
}
