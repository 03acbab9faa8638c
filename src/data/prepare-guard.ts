import { warnOnce } from '../util/log.js';
import { lockDatasetOut } from './owner.js';
import { DATASET_FORMAT_VERSION } from './dataset.js';
import { datasetWarnings, duplicateLogWarnings } from './warnings.js';
import type { PrepareOptions, PrepareResult } from './prepare.js';

/**
 * What runs around every prepare: the owner check of --out (only a cmdcm dataset or an empty
 * directory is replaced), the lock that keeps two prepares off one --out, and the warnings for the
 * silent cases (a log given twice, historical promotions with nothing to learn from).
 */
export async function prepareGuarded(opts: PrepareOptions, build: (o: PrepareOptions) => Promise<PrepareResult>): Promise<PrepareResult> {
  for (const w of duplicateLogWarnings(opts.logs ?? [])) warnOnce(`dup-log:${w}`, w);
  const lock = await lockDatasetOut(opts.out, DATASET_FORMAT_VERSION);
  try {
    const r = await build(opts);
    for (const w of datasetWarnings(r.meta)) warnOnce(`dataset:${opts.out}:${w}`, w);
    return r;
  } finally {
    await lock.release();
  }
}
