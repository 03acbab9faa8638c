import { promises as fsp, existsSync } from 'node:fs';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { Packr } from 'msgpackr';
import { writeFileAtomic } from '../util/atomic.js';
import { CmdcmError } from '../util/errors.js';
import { warnOnce, log } from '../util/log.js';
import { fsError, describeFsError } from '../util/fs-errors.js';
import { validateCheckpoint } from './validate.js';
import type { TrainState } from './state.js';
import type { TrainConfig } from './config.js';

/**
 * Checkpoint files: an 24-byte header (magic "CMDCMCKP", format version u32, CRC-32 of the body u32,
 * body length u64) followed by a msgpack body. The header lets a reader tell a truncated or
 * corrupted file (length / CRC mismatch) from a file of another version, and name which.
 *
 * A run directory keeps `ckpt-latest.cmck` and `ckpt-prev.cmck` (the one before it): a new
 * checkpoint first moves latest to prev, then writes latest atomically, so at every instant at least
 * one complete checkpoint exists. `best.cmck` holds the parameters with the best validation logloss
 * (what eval/predict use when present).
 */
export const CKPT_MAGIC = 'CMDCMCKP';
export const CKPT_VERSION = 1;
const HEADER = 24;

export const CKPT_LATEST = 'ckpt-latest.cmck';
export const CKPT_PREV = 'ckpt-prev.cmck';
export const CKPT_BEST = 'best.cmck';

export interface CheckpointMeta {
  kind: 'train' | 'best';
  model: string;
  modelConfig: unknown;
  trainConfig: TrainConfig;
  schemaFingerprint: string;
  dim: number;
  tableRows: number;
  createdAt: string;
}

/** A checkpoint in memory. 'best' checkpoints carry only params + table (moments are empty). */
export interface Checkpoint {
  meta: CheckpointMeta;
  state: TrainState;
}

const packr = new Packr({ useRecords: false, moreTypes: false });

const ARRAYS = ['params', 'm', 'v', 'table', 'tableM', 'tableV'] as const;

function bytesOf(a: Float32Array): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

function f32Of(b: Uint8Array, path: string, name: string): Float32Array {
  if (!(b instanceof Uint8Array) || b.byteLength % 4 !== 0) throw new CmdcmError(`${path}: checkpoint array '${name}' is malformed`);
  // copy: the decoded bytes may be an unaligned view into the file buffer
  return new Float32Array(Uint8Array.prototype.slice.call(b).buffer);
}

export function encodeCheckpoint(ck: Checkpoint): Uint8Array {
  const { state } = ck;
  const arrays: Record<string, Uint8Array> = {};
  for (const k of ARRAYS) arrays[k] = bytesOf(state[k]);
  const scalars = {
    step: state.step,
    epoch: state.epoch,
    cursor: state.cursor,
    epochRng: state.epochRng,
    rng: state.rng,
    best: state.best,
    badValidations: state.badValidations,
    finished: state.finished,
  };
  const body = packr.pack({ meta: ck.meta, state: scalars, arrays });
  const out = new Uint8Array(HEADER + body.length);
  const dv = new DataView(out.buffer);
  out.set(Buffer.from(CKPT_MAGIC, 'latin1'), 0);
  dv.setUint32(8, CKPT_VERSION, true);
  dv.setUint32(12, crc32(body) >>> 0, true);
  dv.setBigUint64(16, BigInt(body.length), true);
  out.set(body, HEADER);
  return out;
}

export function decodeCheckpoint(buf: Uint8Array, path: string): Checkpoint {
  if (buf.length < HEADER || Buffer.from(buf.subarray(0, 8)).toString('latin1') !== CKPT_MAGIC) {
    throw new CmdcmError(`${path}: not a cmdcm checkpoint (bad magic${buf.length < HEADER ? ', file too short' : ''})`);
  }
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const version = dv.getUint32(8, true);
  if (version !== CKPT_VERSION) throw new CmdcmError(`${path}: checkpoint format version ${version}, this cmdcm reads version ${CKPT_VERSION}`);
  const len = Number(dv.getBigUint64(16, true));
  if (buf.length - HEADER !== len) throw new CmdcmError(`${path}: truncated or corrupted checkpoint (${buf.length - HEADER} body bytes, header says ${len})`);
  const body = buf.subarray(HEADER);
  if ((crc32(body) >>> 0) !== dv.getUint32(12, true)) throw new CmdcmError(`${path}: corrupted checkpoint (CRC mismatch)`);
  let obj: { meta: CheckpointMeta; state: Omit<TrainState, (typeof ARRAYS)[number]>; arrays: Record<string, Uint8Array> } | null;
  try {
    obj = packr.unpack(body);
  } catch (e) {
    throw new CmdcmError(`${path}: corrupted checkpoint body (${(e as Error).message})`);
  }
  // a valid frame around a body of another shape (no state, no meta) is as corrupt as a bad CRC
  const isRec = (v: unknown) => typeof v === 'object' && v !== null && !Array.isArray(v);
  if (!obj || !isRec(obj) || !isRec(obj.meta) || !isRec(obj.state) || !isRec(obj.arrays)) throw new CmdcmError(`${path}: corrupted checkpoint (no meta, state or arrays)`);
  const arrays = {} as Record<(typeof ARRAYS)[number], Float32Array>;
  for (const k of ARRAYS) arrays[k] = f32Of(obj.arrays[k], path, k);
  const s = obj.state;
  const ck: Checkpoint = {
    meta: obj.meta,
    state: {
      ...arrays,
      step: s.step,
      epoch: s.epoch,
      cursor: s.cursor,
      epochRng: s.epochRng,
      rng: s.rng,
      best: s.best ?? null,
      badValidations: s.badValidations,
      finished: s.finished ?? null,
    },
  };
  validateCheckpoint(ck, path);
  return ck;
}

export async function readCheckpoint(path: string): Promise<Checkpoint> {
  let buf: Buffer;
  try {
    buf = await fsp.readFile(path);
  } catch (e) {
    throw new CmdcmError(describeFsError(e, path, 'cannot read the checkpoint') ?? `${path}: cannot read checkpoint (${(e as Error).message})`);
  }
  return decodeCheckpoint(buf, path);
}

/** Rotate latest → prev, then write the new latest atomically. */
export async function saveCheckpoint(runDir: string, ck: Checkpoint): Promise<string> {
  const latest = join(runDir, CKPT_LATEST);
  const bytes = encodeCheckpoint(ck);
  if (existsSync(latest)) await fsp.rename(latest, join(runDir, CKPT_PREV)).catch((e) => { throw fsError(e, join(runDir, CKPT_PREV), 'cannot rotate the checkpoint'); });
  await writeFileAtomic(latest, bytes);
  return latest;
}

/** The parameters with the best validation so far (no optimizer moments: they are not needed to predict). */
export async function saveBest(runDir: string, ck: Checkpoint): Promise<void> {
  const empty = new Float32Array(0);
  const state: TrainState = { ...ck.state, m: empty, v: empty, tableM: empty, tableV: empty };
  await writeFileAtomic(join(runDir, CKPT_BEST), encodeCheckpoint({ meta: { ...ck.meta, kind: 'best' }, state }));
}

export interface Expect {
  model: string;
  schemaFingerprint: string;
}

/** Refuse a checkpoint of another model or dataset schema, naming both. */
export function checkCompatible(ck: Checkpoint, path: string, want: Expect): void {
  if (ck.meta.model !== want.model) throw new CmdcmError(`${path}: checkpoint is of model '${ck.meta.model}', not '${want.model}' (use another --out, or --model ${ck.meta.model})`);
  if (ck.meta.schemaFingerprint !== want.schemaFingerprint) {
    throw new CmdcmError(`${path}: checkpoint was trained on a dataset with another schema (fingerprint ${ck.meta.schemaFingerprint}, this dataset ${want.schemaFingerprint})`);
  }
}

/**
 * The last good training checkpoint of a run: latest, or prev when latest is unreadable (with a
 * warning; the bad file is renamed to `*.corrupt` so the next save does not rotate it over the good
 * prev). Undefined when the run has none.
 */
export async function loadLastGoodCheckpoint(runDir: string, check?: (ck: Checkpoint, path: string) => void,
  opts: { quarantine?: boolean } = { quarantine: true }): Promise<{ ck: Checkpoint; path: string } | undefined> {
  // `check` (sizes against the model that will use it) failing counts as unreadable: fall back to prev
  const read = async (p: string) => {
    const ck = await readCheckpoint(p);
    check?.(ck, p);
    return ck;
  };
  const latest = join(runDir, CKPT_LATEST), prev = join(runDir, CKPT_PREV);
  const hasLatest = existsSync(latest), hasPrev = existsSync(prev);
  if (!hasLatest && !hasPrev) return undefined;
  let why: CmdcmError | undefined;
  if (hasLatest) {
    try {
      return { ck: await read(latest), path: latest };
    } catch (e) {
      if (!(e instanceof CmdcmError)) throw e;
      why = e;
    }
  }
  if (!hasPrev) throw new CmdcmError(`${why!.message}; no previous checkpoint (${prev}) to fall back to`);
  let ck: Checkpoint;
  try {
    ck = await read(prev);
  } catch (e) {
    if (!(e instanceof CmdcmError) || !why) throw e;
    throw new CmdcmError(`${why.message}; the previous checkpoint is unusable too: ${e.message}`);
  }
  if (why) {
    // Only the run's writer (it holds the run lock) sets the bad file aside; a reader (eval,
    // predict) must not: the file it failed on may be one a running training just rotated.
    const quarantine = opts.quarantine ?? true;
    warnOnce(`ckpt-fallback:${latest}`, `${why.message}; ${quarantine ? 'resuming from' : 'using'} the previous checkpoint ${prev} (step ${ck.state.step})`);
    if (quarantine) await fsp.rename(latest, latest + '.corrupt').catch(() => {});
  } else {
    log().warn({ prev }, 'no latest checkpoint, using the previous one');
  }
  return { ck, path: prev };
}
