import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Schema } from '../data/batch.js';
import type { ModelConfig } from '../model/config.js';
import { MODEL_NAMES } from '../model/types.js';
import { CmdcmError } from '../util/errors.js';
import type { TrainConfig } from './config.js';

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

/** Read and sanity-check a run's config.json; errors name the path. */
export function readRunConfig(runDir: string): RunConfig {
  const p = runConfigPath(runDir);
  if (!existsSync(runDir)) throw new CmdcmError(`${runDir}: run directory not found (create it with \`cmdcm train --out ${runDir}\`)`);
  if (!existsSync(p)) throw new CmdcmError(`${p}: missing: ${runDir} is not a cmdcm run directory`);
  let rc: RunConfig;
  try {
    rc = JSON.parse(readFileSync(p, 'utf8')) as RunConfig;
  } catch (e) {
    throw new CmdcmError(`${p}: not valid JSON (${(e as Error).message})`);
  }
  if (rc.cmdcmRun !== RUN_FORMAT) throw new CmdcmError(`${p}: run format ${rc.cmdcmRun}, this cmdcm reads ${RUN_FORMAT}`);
  if (!(MODEL_NAMES as readonly string[]).includes(rc.model) || !rc.schema || !rc.modelConfig || !rc.train) throw new CmdcmError(`${p}: incomplete run config`);
  return rc;
}

export function absPath(p: string): string {
  return resolve(p);
}
