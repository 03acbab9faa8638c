import type { FlagSpec } from '../args.js';
import { numFlag, strFlag } from '../args.js';
import { flagError } from '../../util/errors.js';
import { ENGINE_NAMES, type EngineName } from '../../engine/names.js';
import { TABLE_OPTIMIZERS, type TableOptimizer } from '../../engine/optim.js';
import { DEFAULT_TRAIN_CONFIG as D, type TrainConfigInput } from '../../train/config.js';
import { SCHEDULES, type ScheduleKind } from '../../train/schedule.js';

/** Trainer flags shared by `cmdcm train` and `cmdcm compare` (defaults shown are DEFAULT_TRAIN_CONFIG's). */
export const TRAIN_FLAGS = {
  config: { type: 'string', help: 'JSON file {"train": {...}, "model": {...}} overriding the defaults (flags override the file)' },
  'model-config': { type: 'string', help: 'JSON file with a partial model config (same as the "model" key of --config)' },
  epochs: { type: 'string', help: `passes over the train split (default: ${D.epochs})` },
  'batch-size': { type: 'string', help: `samples per optimizer step (default: ${D.batchSize})` },
  lr: { type: 'string', help: `peak learning rate (default: ${D.schedule.lr})` },
  schedule: { type: 'string', help: `lr schedule: ${SCHEDULES.join(' | ')} (default: ${D.schedule.kind}: linear warmup, cosine decay to ${D.schedule.minLrRatio}×lr)` },
  warmup: { type: 'string', help: `warmup steps (default: ${D.schedule.warmupSteps})` },
  seed: { type: 'string', help: `seed of the init and the shuffling (default: ${D.seed})` },
  'table-optimizer': { type: 'string', help: `embedding rows: lazyAdam | adagrad (default: ${D.tableOptimizer})` },
  'checkpoint-every': { type: 'string', help: `checkpoint every N steps, 0 = only at the end (default: ${D.checkpointEvery})` },
  'valid-every': { type: 'string', help: `validate every N steps, 0 = at each epoch end (default: ${D.validEvery})` },
  patience: { type: 'string', help: `early stopping: validations without improvement, 0 = off (default: ${D.patience})` },
  'max-steps': { type: 'string', help: 'stop after N steps in total (a budget; 0 = none)' },
  engine: { type: 'string', help: 'compute engine: native | cpu | tensorflow | cuda | auto (default: auto: cuda where a GPU is usable, else native)' },
  workers: { type: 'string', help: 'data-parallel workers (default: 1)' },
  transport: { type: 'string', help: 'workers as: thread | process | mpi (default: thread; process with --engine tensorflow or cuda, one per GPU; mpi: one rank per process under mpirun/srun, README "Beyond one host")' },
  gpus: { type: 'string', help: 'with --transport process: GPU ids for the workers, one process per GPU (engines cuda, tensorflow), e.g. 0,1 (default: detected)' },
} satisfies Record<string, FlagSpec>;

export function trainOverridesFromFlags(v: Record<string, unknown>): TrainConfigInput {
  const o: TrainConfigInput = {};
  const sched: NonNullable<TrainConfigInput['schedule']> = {};
  const set = <K extends keyof TrainConfigInput>(k: K, x: TrainConfigInput[K] | undefined) => {
    if (x !== undefined) o[k] = x;
  };
  set('epochs', numFlag(v, 'epochs', { int: true, min: 1 }));
  set('batchSize', numFlag(v, 'batch-size', { int: true, min: 1 }));
  set('seed', numFlag(v, 'seed', { int: true }));
  set('checkpointEvery', numFlag(v, 'checkpoint-every', { int: true, min: 0 }));
  set('validEvery', numFlag(v, 'valid-every', { int: true, min: 0 }));
  set('patience', numFlag(v, 'patience', { int: true, min: 0 }));
  set('maxSteps', numFlag(v, 'max-steps', { int: true, min: 0 }));
  const to = strFlag(v, 'table-optimizer');
  if (to !== undefined) {
    if (!(TABLE_OPTIMIZERS as readonly string[]).includes(to)) throw flagError('table-optimizer', `expected ${TABLE_OPTIMIZERS.join(' or ')}, got '${to}'`);
    o.tableOptimizer = to as TableOptimizer;
  }
  const lr = numFlag(v, 'lr');
  if (lr !== undefined) {
    if (!(lr > 0)) throw flagError('lr', `must be > 0, got ${lr}`);
    sched.lr = lr;
  }
  const w = numFlag(v, 'warmup', { int: true, min: 0 });
  if (w !== undefined) sched.warmupSteps = w;
  const s = strFlag(v, 'schedule');
  if (s !== undefined) {
    if (!SCHEDULES.includes(s as ScheduleKind)) throw flagError('schedule', `expected ${SCHEDULES.join(', ')}, got '${s}'`);
    sched.kind = s as ScheduleKind;
  }
  if (Object.keys(sched).length) o.schedule = sched;
  return o;
}

/** Flags override the file: merge the file's "train" object with the flag overrides. */
export function combineTrainInputs(file: TrainConfigInput | undefined, flags: TrainConfigInput): TrainConfigInput {
  return { ...(file ?? {}), ...flags, schedule: { ...(file?.schedule ?? {}), ...(flags.schedule ?? {}) } };
}

export function engineFlag(v: Record<string, unknown>): EngineName | undefined {
  const e = strFlag(v, 'engine');
  if (e === undefined) return undefined;
  if (!(ENGINE_NAMES as readonly string[]).includes(e)) throw flagError('engine', `expected ${ENGINE_NAMES.join(', ')}, got '${e}'`);
  return e as EngineName;
}

export const TRANSPORTS = ['thread', 'process', 'mpi'] as const;

export function transportFlag(v: Record<string, unknown>): (typeof TRANSPORTS)[number] | undefined {
  const t = strFlag(v, 'transport');
  if (t === undefined) return undefined;
  if (!(TRANSPORTS as readonly string[]).includes(t)) throw flagError('transport', `expected ${TRANSPORTS.join(', ')}, got '${t}'`);
  return t as (typeof TRANSPORTS)[number];
}

/** `--gpus 0,1`: parsed lazily from src/parallel so single-process commands never load it. */
export async function gpusFlag(v: Record<string, unknown>): Promise<string[] | undefined> {
  const g = strFlag(v, 'gpus');
  if (g === undefined) return undefined;
  const { parseGpuList } = await import('../../parallel/gpus.js');
  return parseGpuList(g);
}
