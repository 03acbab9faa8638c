import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Schema } from '../data/batch.js';
import type { ModelConfig } from '../model/config.js';
import { CmdcmError } from '../util/errors.js';
import type { TrainConfig } from './config.js';
import { validateRunConfig } from './validate.js';
import { describeFsError } from '../util/fs-errors.js';

/**
 * A run directory: config.json (this file's RunConfig), ckpt-latest.cmck / ckpt-prev.cmck /
 * best.cmck (see checkpoint.ts), metrics.jsonl (one JSON object per step / validation / end),
 * train.log (pino), eval.json + eval.md (written by `cmdcm eval`).
 */
export const RUN_CONFIG = 'config.json';
export const RUN_FORMAT = 1;

export interface RunConfig {
  cmdcmRun: number;
  model: string;
  modelConfig: ModelConfig;
  train: TrainConfig;
  /** absolute path of the dataset it was trained on (eval/predict default) */
  data: string;
  schema: Schema;
  schemaFingerprint: string;
  engine: string;
  createdAt: string;
}

export function runConfigPath(runDir: string): string {
  return join(runDir, RUN_CONFIG);
}

/** Read and validate a run's config.json (train/validate.ts); errors name the path. */
export function readRunConfig(runDir: string): RunConfig {
  const p = runConfigPath(runDir);
  if (!existsSync(runDir)) throw new CmdcmError(`${runDir}: run directory not found (create it with \`cmdcm train --out ${runDir}\`)`);
  if (!existsSync(p)) throw new CmdcmError(`${p}: missing: ${runDir} is not a cmdcm run directory`);
  let rc: unknown;
  try {
    rc = JSON.parse(readFileSync(p, 'utf8'));
  } catch (e) {
    throw new CmdcmError(describeFsError(e, p, 'cannot read the run config') ?? `${p}: not valid JSON (${(e as Error).message})`);
  }
  return validateRunConfig(rc, p, RUN_FORMAT);
}

export function absPath(p: string): string {
  return resolve(p);
}
