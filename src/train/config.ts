import { readFileSync } from 'node:fs';
import { CmdcmError } from '../util/errors.js';
import { refusePrototypeKeys } from '../util/json-safe.js';
import { SCHEDULES, type ScheduleConfig } from './schedule.js';
import { TABLE_OPTIMIZERS, type TableOptimizer } from '../engine/optim.js';

/**
 * Trainer settings. Every default is listed in DEFAULT_TRAIN_CONFIG (and printed by
 * `cmdcm train --help`); a JSON config file overrides them under its "train" key, CLI flags override
 * the file.
 */
export interface TrainConfig {
  /** passes over the train split */
  epochs: number;
  /** global batch size (samples per optimizer step) */
  batchSize: number;
  /** seeds the model's initParams, the table init and the shuffling */
  seed: number;
  schedule: ScheduleConfig;
  /** Adam for the dense parameters */
  beta1: number;
  beta2: number;
  eps: number;
  /** optimizer for the embedding rows; only the rows a step touched are read or written */
  tableOptimizer: TableOptimizer;
  /** learning rate of the embedding rows as a multiple of the dense lr */
  tableLrScale: number;
  /** std of the normal init of the embedding table (row 0, the padding row, stays zero) */
  tableInitStd: number;
  /** validate every N steps; 0 = at the end of every epoch only */
  validEvery: number;
  /** stop after this many validations without improving the validation logloss; 0 = never */
  patience: number;
  /** which validation logloss early stopping watches: one task or the sum over the tasks */
  earlyStopOn: 'delayed' | 'sum';
  /** minimum decrease that counts as an improvement */
  minDelta: number;
  /** write a checkpoint every N steps (0 = only at the end and at each validation) */
  checkpointEvery: number;
  /** stop after this many steps in total (0 = no limit); a budget, not part of the schedule */
  maxSteps: number;
  /** batch size used for validation / prediction forward passes */
  evalBatchSize: number;
}

export const DEFAULT_TRAIN_CONFIG: TrainConfig = {
  // One pass: on generated worlds the second epoch raised every multi-task model's validation
  // delayed logloss (cmdcm 0.0979 -> 0.1051, esmm 0.0971 -> 0.1064), and a one-epoch cosine
  // schedule ends at its lowest learning rate instead of mid-way.
  epochs: 1,
  batchSize: 256,
  seed: 1,
  schedule: { kind: 'cosine', lr: 0.002, warmupSteps: 20, minLrRatio: 0.1, gamma: 0.5, stepEvery: 1000 },
  beta1: 0.9,
  beta2: 0.999,
  eps: 1e-8,
  tableOptimizer: 'lazyAdam',
  tableLrScale: 1,
  tableInitStd: 0.01,
  validEvery: 0,
  patience: 2,
  earlyStopOn: 'delayed',
  minDelta: 1e-4,
  checkpointEvery: 200,
  maxSteps: 0,
  evalBatchSize: 4096,
};

export type TrainConfigInput = Partial<Omit<TrainConfig, 'schedule'>> & { schedule?: Partial<ScheduleConfig> };

/** Merge overrides onto a base, checking names and types; `where` names the source in errors. */
export function mergeTrainConfig(base: TrainConfig, over: TrainConfigInput | undefined, where = 'train config'): TrainConfig {
  if (!over) return base;
  if (typeof over !== 'object' || Array.isArray(over)) throw new CmdcmError(`${where}: expected an object`);
  const out: TrainConfig = { ...base, schedule: { ...base.schedule } };
  for (const [k, v] of Object.entries(over)) {
    if (v === undefined) continue;
    if (k === 'schedule') {
      if (typeof v !== 'object' || v === null) throw new CmdcmError(`${where}: "schedule" must be an object`);
      for (const [sk, sv] of Object.entries(v as object)) {
        if (sv === undefined) continue;
        if (!Object.hasOwn(base.schedule, sk)) throw new CmdcmError(`${where}: unknown key "schedule.${sk}" (known: ${Object.keys(base.schedule).join(', ')})`);
        if (typeof sv !== typeof (base.schedule as unknown as Record<string, unknown>)[sk]) throw new CmdcmError(`${where}: "schedule.${sk}" must be a ${typeof (base.schedule as unknown as Record<string, unknown>)[sk]}`);
        (out.schedule as unknown as Record<string, unknown>)[sk] = sv;
      }
      continue;
    }
    if (!Object.hasOwn(base, k)) throw new CmdcmError(`${where}: unknown key "${k}" (known: ${Object.keys(base).join(', ')})`);
    if (typeof v !== typeof (base as unknown as Record<string, unknown>)[k]) throw new CmdcmError(`${where}: "${k}" must be a ${typeof (base as unknown as Record<string, unknown>)[k]}`);
    (out as unknown as Record<string, unknown>)[k] = v;
  }
  validateTrainConfig(out, where);
  return out;
}

export function validateTrainConfig(c: TrainConfig, where = 'train config'): void {
  const bad = (k: string, why: string) => new CmdcmError(`${where}: "${k}" ${why}`);
  const posInt = (k: keyof TrainConfig) => {
    const v = c[k] as number;
    if (!Number.isInteger(v) || v < 1) throw bad(k, `must be a positive integer, got ${v}`);
  };
  const nonNegInt = (k: keyof TrainConfig) => {
    const v = c[k] as number;
    if (!Number.isInteger(v) || v < 0) throw bad(k, `must be an integer >= 0, got ${v}`);
  };
  posInt('epochs');
  posInt('batchSize');
  posInt('evalBatchSize');
  nonNegInt('validEvery');
  nonNegInt('patience');
  nonNegInt('checkpointEvery');
  nonNegInt('maxSteps');
  if (!Number.isInteger(c.seed)) throw bad('seed', `must be an integer, got ${c.seed}`);
  if (!SCHEDULES.includes(c.schedule.kind)) throw bad('schedule.kind', `must be one of ${SCHEDULES.join(', ')}, got '${c.schedule.kind}'`);
  if (!(c.schedule.lr > 0)) throw bad('schedule.lr', `must be > 0, got ${c.schedule.lr}`);
  if (!(c.schedule.warmupSteps >= 0)) throw bad('schedule.warmupSteps', 'must be >= 0');
  if (!(c.schedule.minLrRatio >= 0 && c.schedule.minLrRatio <= 1)) throw bad('schedule.minLrRatio', 'must be in [0, 1]');
  if (!(c.schedule.gamma > 0)) throw bad('schedule.gamma', 'must be > 0');
  if (!(c.schedule.stepEvery >= 1)) throw bad('schedule.stepEvery', 'must be >= 1');
  if (!TABLE_OPTIMIZERS.includes(c.tableOptimizer)) throw bad('tableOptimizer', `must be 'lazyAdam' or 'adagrad', got '${c.tableOptimizer}'`);
  if (c.earlyStopOn !== 'delayed' && c.earlyStopOn !== 'sum') throw bad('earlyStopOn', `must be 'delayed' or 'sum', got '${c.earlyStopOn}'`);
  if (!(c.beta1 >= 0 && c.beta1 < 1) || !(c.beta2 >= 0 && c.beta2 < 1)) throw bad('beta1/beta2', 'must be in [0, 1)');
  if (!(c.eps > 0)) throw bad('eps', 'must be > 0');
  if (!(c.tableLrScale > 0)) throw bad('tableLrScale', 'must be > 0');
  if (!(c.tableInitStd >= 0)) throw bad('tableInitStd', 'must be >= 0');
}

/** A JSON config file: `{ "train": {...TrainConfig}, "model": {...model config} }`. */
export interface ConfigFile {
  train?: TrainConfigInput;
  model?: Record<string, unknown>;
}

export function readConfigFile(path: string): ConfigFile {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new CmdcmError(`${path}: cannot read config file (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  let obj: unknown;
  try {
    obj = JSON.parse(text);
  } catch (e) {
    throw new CmdcmError(`${path}: invalid JSON (${(e as Error).message})`);
  }
  if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) throw new CmdcmError(`${path}: expected a JSON object with "train" and/or "model"`);
  refusePrototypeKeys(obj, path);
  for (const k of Object.keys(obj)) {
    if (k !== 'train' && k !== 'model') throw new CmdcmError(`${path}: unknown top-level key "${k}" (expected "train" and/or "model")`);
  }
  return obj as ConfigFile;
}
