import { CmdcmError } from '../util/errors.js';
import { isInt, isObj, kindOf, refusePrototypeKeys } from '../util/json-safe.js';
import { validateSchema } from '../data/validate.js';
import { resolveModelConfig } from '../model/config.js';
import { MODEL_NAMES, type ModelName } from '../model/types.js';
import { DEFAULT_TRAIN_CONFIG, mergeTrainConfig, type TrainConfig } from './config.js';
import { schemaFingerprint } from './fingerprint.js';
import type { RunConfig } from './run-dir.js';
import type { Checkpoint } from './checkpoint.js';

/**
 * One validation of everything read from a run directory before any work starts: config.json
 * (its cmdcm signature, model and train settings with their ranges, the schema against its own
 * fingerprint) and checkpoints (frame content, every scalar's range, every array's size against the
 * checkpoint's own meta and then against the model that will use it). Messages name the file.
 */

/** The run signature config.json carries (`"cmdcmRun": 1`). */
export const RUN_MARK_KEY = 'cmdcmRun';

/** config.json of a run, parsed: returns it with the train and model settings fully checked. */
export function validateRunConfig(rc: unknown, path: string, format = 1): RunConfig {
  if (!isObj(rc)) throw new CmdcmError(`${path}: not a cmdcm run config (it holds ${kindOf(rc)}, not an object)`);
  refusePrototypeKeys(rc, path);
  if (rc[RUN_MARK_KEY] !== format) throw new CmdcmError(`${path}: not a cmdcm run config of format ${format} ("${RUN_MARK_KEY}" is ${kindOf(rc[RUN_MARK_KEY])})`);
  if (!(MODEL_NAMES as readonly string[]).includes(rc.model as string)) throw new CmdcmError(`${path}: "model" must be one of ${MODEL_NAMES.join(', ')}, got ${kindOf(rc.model)}`);
  for (const k of ['data', 'schemaFingerprint', 'engine', 'createdAt']) {
    if (typeof rc[k] !== 'string') throw new CmdcmError(`${path}: "${k}" must be a string, got ${kindOf(rc[k])}`);
  }
  if (!isObj(rc.modelConfig)) throw new CmdcmError(`${path}: "modelConfig" must be an object, got ${kindOf(rc.modelConfig)}`);
  if (!isObj(rc.train)) throw new CmdcmError(`${path}: "train" must be an object, got ${kindOf(rc.train)}`);
  const modelConfig = resolveModelConfig(rc.modelConfig, `${path}: "modelConfig"`, rc.model as ModelName);
  const train: TrainConfig = mergeTrainConfig(DEFAULT_TRAIN_CONFIG, rc.train as never, `${path}: "train"`);
  validateSchema(rc.schema, path);
  const fp = schemaFingerprint(rc.schema);
  if (fp !== rc.schemaFingerprint) {
    throw new CmdcmError(`${path}: the schema does not match its fingerprint (${rc.schemaFingerprint}, the schema hashes to ${fp}): the file was edited or damaged; train the run again`);
  }
  return { ...(rc as unknown as RunConfig), modelConfig, train };
}

const ARRAYS = ['params', 'm', 'v', 'table', 'tableM', 'tableV'] as const;
const FINISHED = [null, 'epochs', 'early-stop', 'max-steps'];

/**
 * A decoded checkpoint's own consistency: meta and state present and typed, scalars in range, array
 * sizes agreeing with meta.dim × meta.tableRows and with each other. Called by the decoder, so a
 * malformed file is "unreadable" and the run falls back to ckpt-prev.
 */
export function validateCheckpoint(ck: Checkpoint, path: string): void {
  const bad = (why: string) => new CmdcmError(`${path}: corrupted checkpoint (${why})`);
  const m = ck.meta as unknown, s = ck.state as unknown as Record<string, unknown>;
  if (!isObj(m)) throw bad('no meta');
  if (m.kind !== 'train' && m.kind !== 'best') throw bad(`meta.kind is ${kindOf(m.kind)}`);
  if (typeof m.model !== 'string' || typeof m.schemaFingerprint !== 'string') throw bad('meta lacks model or schema fingerprint');
  if (!isInt(m.dim, 1, 4096) || !isInt(m.tableRows, 1, 2 ** 28)) throw bad('meta.dim or meta.tableRows out of range');
  if (!isInt(s.step, 0) || !isInt(s.epoch, 0, 1e9) || !isInt(s.cursor, 0, 2 ** 31) || !isInt(s.badValidations, 0, 1e9)) {
    throw bad(`step ${kindOf(s.step)}, epoch ${kindOf(s.epoch)}, cursor ${kindOf(s.cursor)}, badValidations ${kindOf(s.badValidations)}: each must be an integer >= 0`);
  }
  for (const k of ['rng', 'epochRng']) {
    const r = s[k];
    if (!Array.isArray(r) || r.length !== 4 || !r.every((x) => isInt(x, 0, 0xffffffff)) || r.every((x) => x === 0)) throw bad(`${k} is not an RNG state (4 uint32 words, not all zero)`);
  }
  const best = s.best;
  // a NaN metric is possible (a validation that diverged) and is kept as written
  if (best !== null && !(isObj(best) && typeof best.metric === 'number' && isInt(best.step, 0))) throw bad('best is not { metric, step }');
  if (!FINISHED.includes(s.finished as string | null)) throw bad(`finished is ${kindOf(s.finished)}`);
  // a sharded manifest's table arrays are in its shard files: their sizes follow from the manifest
  const T0 = ck.shards ? m.tableRows * m.dim : ck.state.table.length;
  const len = (k: (typeof ARRAYS)[number]) => !ck.shards || !k.startsWith('table') ? ck.state[k].length
    : ck.shards.arrays.includes(k as 'table') ? T0 : 0;
  const P = len('params'), T = len('table');
  if (T !== m.tableRows * m.dim) throw bad(`table holds ${T} values, meta says ${m.tableRows} rows × ${m.dim}`);
  if (m.kind === 'best') {
    if (len('m') || len('v') || len('tableM') || len('tableV')) throw bad('a best checkpoint carries optimizer moments');
  } else {
    if (len('m') !== P || len('v') !== P) throw bad(`optimizer moments m/v hold ${len('m')}/${len('v')} values, params ${P}`);
    if (len('tableM') !== T || (len('tableV') !== T && len('tableV') !== 0)) throw bad(`table moments hold ${len('tableM')}/${len('tableV')} values, table ${T}`);
  }
}

/** The table values a checkpoint describes (a manifest's are in its shards). */
export function tableValuesOf(ck: Checkpoint): { table: number; tableV: number } {
  if (!ck.shards) return { table: ck.state.table.length, tableV: ck.state.tableV.length };
  const T = ck.meta.tableRows * ck.meta.dim;
  return { table: T, tableV: ck.shards.arrays.includes('tableV') ? T : 0 };
}

export interface CheckpointUse {
  model: string;
  schemaFingerprint: string;
  params: number;
  dim: number;
  tableRows: number;
  /** training: the moments must fit the optimizer and the data cursor the epoch */
  train?: { tableOptimizer: TrainConfig['tableOptimizer']; stepsPerEpoch: number };
}

/** A checkpoint against the model and run that will use it. */
export function checkCheckpointFor(ck: Checkpoint, path: string, want: CheckpointUse): void {
  if (ck.meta.model !== want.model) throw new CmdcmError(`${path}: checkpoint is of model '${ck.meta.model}', not '${want.model}' (use another --out, or --model ${ck.meta.model})`);
  if (ck.meta.schemaFingerprint !== want.schemaFingerprint) {
    throw new CmdcmError(`${path}: checkpoint was trained on a dataset with another schema (fingerprint ${ck.meta.schemaFingerprint}, this dataset ${want.schemaFingerprint})`);
  }
  const s = ck.state;
  const tv = tableValuesOf(ck);
  if (s.params.length !== want.params || tv.table !== want.tableRows * want.dim) {
    throw new CmdcmError(`${path}: parameter sizes differ from model '${want.model}' (${s.params.length} vs ${want.params} dense, ${tv.table} vs ${want.tableRows * want.dim} table values)`);
  }
  if (!want.train) return;
  if (ck.meta.kind !== 'train') throw new CmdcmError(`${path}: a '${ck.meta.kind}' checkpoint (no optimizer state) cannot be resumed from; was best.cmck copied over it?`);
  const wantV = want.train.tableOptimizer === 'lazyAdam' ? tv.table : 0;
  if (tv.tableV !== wantV) throw new CmdcmError(`${path}: table moments do not fit the '${want.train.tableOptimizer}' table optimizer of this run`);
  if (s.cursor > want.train.stepsPerEpoch) throw new CmdcmError(`${path}: data cursor ${s.cursor} is past the ${want.train.stepsPerEpoch} batches of an epoch`);
}
