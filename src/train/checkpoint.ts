import { promises as fsp, existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { crc32 } from 'node:zlib';
import { Packr } from 'msgpackr';
import { writeFileAtomic } from '../util/atomic.js';
import { CmdcmError } from '../util/errors.js';
import { warnOnce, log } from '../util/log.js';
import { fsError, describeFsError } from '../util/fs-errors.js';
import { validateCheckpoint } from './validate.js';
import type { TrainState } from './state.js';
import type { TrainConfig } from './config.js';
import { readShardRows, removeUnreferencedShards, SHARDS_DIR, validateShardSet, type ShardSet } from './checkpoint-shards.js';

/**
 * Checkpoint files: an 24-byte header (magic "CMDCMCKP", format version u32, CRC-32 of the body u32,
 * body length u64) followed by a msgpack body. The header lets a reader tell a truncated or
 * corrupted file (length / CRC mismatch) from a file of another version, and name which.
 *
 * Version 1 holds the whole state in the file (a single process or the thread workers write it).
 * Version 2 is a manifest (the MPI ranks write it, README "Beyond one host"): the dense parameters,
 * moments and scalars as in version 1, the table arrays empty, and `shards` naming the per-rank
 * shard files that hold the table's rows (checkpoint-shards.ts). `readCheckpoint` assembles a
 * manifest's table in one process, so eval, predict and a single-process resume read either version;
 * the MPI ranks read only their own rows (`readShardRows`).
 *
 * A run directory keeps `ckpt-latest.cmck` and `ckpt-prev.cmck` (the one before it): a new
 * checkpoint first moves latest to prev, then writes latest atomically, so at every instant at least
 * one complete checkpoint exists. `best.cmck` holds the parameters with the best validation logloss
 * (what eval/predict use when present).
 */
export const CKPT_MAGIC = 'CMDCMCKP';
/** the newest format this cmdcm reads (2: sharded manifest); whole-state files are still written as 1 */
export const CKPT_VERSION = 2;
const CKPT_WHOLE = 1;
const CKPT_SHARDED = 2;
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
  /**
   * A manifest as decoded (version 2): the table arrays are empty and live in these shard files.
   * `readCheckpoint` fills them and drops this field.
   */
  shards?: ShardSet;
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
  for (const k of ARRAYS) arrays[k] = bytesOf(ck.shards && k.startsWith('table') ? new Float32Array(0) : state[k]);
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
  const body = packr.pack(ck.shards ? { meta: ck.meta, state: scalars, arrays, shards: ck.shards } : { meta: ck.meta, state: scalars, arrays });
  const out = new Uint8Array(HEADER + body.length);
  const dv = new DataView(out.buffer);
  out.set(Buffer.from(CKPT_MAGIC, 'latin1'), 0);
  dv.setUint32(8, ck.shards ? CKPT_SHARDED : CKPT_WHOLE, true);
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
  if (version !== CKPT_WHOLE && version !== CKPT_SHARDED) throw new CmdcmError(`${path}: checkpoint format version ${version}, this cmdcm reads version ${CKPT_WHOLE} (one file) and version ${CKPT_VERSION} (sharded)`);
  const len = Number(dv.getBigUint64(16, true));
  if (buf.length - HEADER !== len) throw new CmdcmError(`${path}: truncated or corrupted checkpoint (${buf.length - HEADER} body bytes, header says ${len})`);
  const body = buf.subarray(HEADER);
  if ((crc32(body) >>> 0) !== dv.getUint32(12, true)) throw new CmdcmError(`${path}: corrupted checkpoint (CRC mismatch)`);
  let obj: { meta: CheckpointMeta; state: Omit<TrainState, (typeof ARRAYS)[number]>; arrays: Record<string, Uint8Array>; shards?: unknown } | null;
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
  if (version === CKPT_SHARDED) {
    const kind = (obj.meta as { kind?: unknown }).kind === 'best' ? 'best' : 'train';
    ck.shards = validateShardSet(obj.shards, path, kind);
    if (ARRAYS.some((k) => k.startsWith('table') && arrays[k].length > 0)) throw new CmdcmError(`${path}: corrupted checkpoint (a sharded manifest holds table values)`);
  }
  validateCheckpoint(ck, path);
  return ck;
}

/** A checkpoint file as stored: a manifest's table is left in its shards (`ck.shards`). */
export async function readCheckpointFile(path: string): Promise<Checkpoint> {
  let buf: Buffer;
  try {
    buf = await fsp.readFile(path);
  } catch (e) {
    throw new CmdcmError(describeFsError(e, path, 'cannot read the checkpoint') ?? `${path}: cannot read checkpoint (${(e as Error).message})`);
  }
  return decodeCheckpoint(buf, path);
}

/**
 * A checkpoint with its whole state in memory: a sharded manifest's table is assembled here from
 * every rank's shard file (one process holds the whole table: fine for eval, predict and a
 * single-process resume, which hold it anyway).
 */
export async function readCheckpoint(path: string): Promise<Checkpoint> {
  const ck = await readCheckpointFile(path);
  if (!ck.shards) return ck;
  const { meta, shards } = ck;
  const T = meta.tableRows * meta.dim;
  const out: Partial<Record<'table' | 'tableM' | 'tableV', Float32Array>> = {};
  for (const k of shards.arrays) out[k] = new Float32Array(T);
  await readShardRows(dirname(path), shards, meta.tableRows, meta.dim, 1, 0, out);
  const whole: Checkpoint = { meta, state: { ...ck.state, ...out } };
  validateCheckpoint(whole, path);
  return whole;
}

/**
 * Writes a manifest whose shard files are all in place (rank 0 of the MPI ranks): a 'train' one
 * rotates latest → prev and lands as the new latest, a 'best' one replaces best.cmck; both
 * atomically, and only then are the shard directories no manifest references any more removed.
 */
export async function saveManifest(runDir: string, ck: Checkpoint & { shards: ShardSet }): Promise<string> {
  const path = ck.meta.kind === 'best' ? join(runDir, CKPT_BEST) : await rotate(runDir);
  await writeFileAtomic(path, encodeCheckpoint(ck));
  await removeUnreferencedShards(runDir, await liveShardDirs(runDir));
  return path;
}

/** The shard directories the run's manifests (latest, prev, best) reference. */
async function liveShardDirs(runDir: string): Promise<Set<string>> {
  const live = new Set<string>();
  for (const f of [CKPT_LATEST, CKPT_PREV, CKPT_BEST]) {
    const p = join(runDir, f);
    if (!existsSync(p)) continue;
    try {
      const ck = await readCheckpointFile(p);
      if (ck.shards) live.add(ck.shards.dir);
    } catch {
      // an unreadable manifest references nothing a reader could use; a version 1 file, no shards
    }
  }
  return live;
}

async function rotate(runDir: string): Promise<string> {
  const latest = join(runDir, CKPT_LATEST);
  if (existsSync(latest)) await fsp.rename(latest, join(runDir, CKPT_PREV)).catch((e) => { throw fsError(e, join(runDir, CKPT_PREV), 'cannot rotate the checkpoint'); });
  return latest;
}

/** Rotate latest → prev, then write the new latest atomically. */
export async function saveCheckpoint(runDir: string, ck: Checkpoint): Promise<string> {
  const latest = join(runDir, CKPT_LATEST);
  const bytes = encodeCheckpoint(ck);
  if (existsSync(latest)) await fsp.rename(latest, join(runDir, CKPT_PREV)).catch((e) => { throw fsError(e, join(runDir, CKPT_PREV), 'cannot rotate the checkpoint'); });
  await writeFileAtomic(latest, bytes);
  await dropShardsOf(runDir);
  return latest;
}

/** After a single-process save: the shard directories of an MPI run's manifests that rotated out. */
async function dropShardsOf(runDir: string): Promise<void> {
  if (existsSync(join(runDir, SHARDS_DIR))) await removeUnreferencedShards(runDir, await liveShardDirs(runDir));
}

/** The parameters with the best validation so far (no optimizer moments: they are not needed to predict). */
export async function saveBest(runDir: string, ck: Checkpoint): Promise<void> {
  const empty = new Float32Array(0);
  const state: TrainState = { ...ck.state, m: empty, v: empty, tableM: empty, tableV: empty };
  await writeFileAtomic(join(runDir, CKPT_BEST), encodeCheckpoint({ meta: { ...ck.meta, kind: 'best' }, state }));
  await dropShardsOf(runDir);
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
