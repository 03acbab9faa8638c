import { promises as fsp, existsSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { crc32 } from 'node:zlib';
import { randomBytes } from 'node:crypto';
import { CmdcmError } from '../util/errors.js';
import { isInt, isObj, kindOf } from '../util/json-safe.js';
import { ensureDir } from '../util/fsx.js';
import { writeAtomicWith } from '../util/atomic.js';
import { describeFsError } from '../util/fs-errors.js';

/**
 * The table part of a sharded checkpoint (the MPI trainer's, src/parallel/mpi): each rank writes the
 * rows it owns (row r on rank r mod M, at local row r div M) to its own shard file, and rank 0 then
 * writes the manifest (checkpoint.ts, format version 2) that names the files with their sizes and
 * CRCs. The manifest is written last and atomically, so a checkpoint exists only once every shard
 * is complete; a rank dying mid-write leaves an unreferenced directory, never a broken checkpoint.
 *
 * Any reader can take any rows from any layout: `readShardRows(set, N, u)` gives rank u of an N-rank
 * job its rows (resume with another rank count re-shards), and N = 1 assembles the whole table
 * (a single-process resume, eval, predict). It streams each file in bounded chunks, so a rank never
 * holds more than its own rows plus one chunk.
 *
 * Shard file: a 48-byte header (magic "CMDCMSHD", version u32, rank u32, ranks u32, array count
 * u32, table rows u64, dim u32, CRC-32 of the data u32, local rows u64), then each array's local
 * rows × dim float32 (little-endian), one array after the other.
 */
export const SHARD_MAGIC = 'CMDCMSHD';
export const SHARD_VERSION = 1;
const SHARD_HEADER = 48;
/** where a run's shard directories live, one per checkpoint */
export const SHARDS_DIR = 'ckpt-shards';
/** the bytes a reader streams a shard file in (its only buffer beyond the rows it keeps) */
export const SHARD_CHUNK_BYTES = 1 << 20;

export type ShardArray = 'table' | 'tableM' | 'tableV';
const SHARD_ARRAYS: readonly ShardArray[] = ['table', 'tableM', 'tableV'];

/** What a manifest records about its shards. */
export interface ShardSet {
  /** the shard directory, relative to the run directory (`ckpt-shards/<id>`) */
  dir: string;
  /** how many ranks wrote it (M) */
  ranks: number;
  /** the arrays each file holds, in file order */
  arrays: ShardArray[];
  /** per writer rank: file name in `dir`, byte size, CRC-32 of its data */
  files: { name: string; bytes: number; crc: number }[];
}

/** Rows rank u owns in a table of `rows` rows over `size` ranks (row r on rank r mod size). */
export function ownedRowCount(rows: number, size: number, u: number): number {
  return rows > u ? Math.floor((rows - u + size - 1) / size) : 0;
}

/** A fresh shard directory name for a checkpoint of `kind` at `step` (rank 0 picks it, every rank writes into it). */
export function newShardDir(kind: string, step: number): string {
  return `${SHARDS_DIR}/${kind}-s${step}-${randomBytes(4).toString('hex')}`;
}

export function shardFileName(rank: number, ranks: number): string {
  return `rank-${String(rank).padStart(5, '0')}-of-${String(ranks).padStart(5, '0')}.cmsh`;
}

/**
 * Writes this rank's shard file `<runDir>/<dir>/<name>` (temp file + fsync + rename; the temp file
 * removed on failure) straight from its arrays: no copy of the rows is made. `partial` (tests only)
 * is called after the first array, so a test can kill the rank mid-write.
 */
export async function writeShardFile(runDir: string, dir: string, rank: number, ranks: number, tableRows: number, dim: number,
  arrays: Float32Array[], partial?: () => void): Promise<{ name: string; bytes: number; crc: number }> {
  const local = ownedRowCount(tableRows, ranks, rank);
  for (const a of arrays) if (a.length !== local * dim) throw new Error(`writeShardFile: an array holds ${a.length} values, rank ${rank} of ${ranks} owns ${local} rows × ${dim}`);
  const name = shardFileName(rank, ranks);
  const target = join(runDir, dir, name);
  await ensureDir(dirname(target), 'checkpoint shard directory');
  let crc = 0;
  for (const a of arrays) crc = crc32(bytes(a), crc);
  const head = Buffer.alloc(SHARD_HEADER);
  head.write(SHARD_MAGIC, 0, 'latin1');
  head.writeUInt32LE(SHARD_VERSION, 8);
  head.writeUInt32LE(rank, 12);
  head.writeUInt32LE(ranks, 16);
  head.writeUInt32LE(arrays.length, 20);
  head.writeBigUInt64LE(BigInt(tableRows), 24);
  head.writeUInt32LE(dim, 32);
  head.writeUInt32LE(crc >>> 0, 36);
  head.writeBigUInt64LE(BigInt(local), 40);
  await writeAtomicWith(target, async (fh) => {
    await fh.write(head);
    for (let i = 0; i < arrays.length; i++) {
      await writeAll(fh, bytes(arrays[i]));
      if (i === 0) partial?.();
    }
  }, 'cannot write the checkpoint shard');
  return { name, bytes: SHARD_HEADER + arrays.length * local * dim * 4, crc: crc >>> 0 };
}

async function writeAll(fh: fsp.FileHandle, b: Uint8Array): Promise<void> {
  // one write call is capped near 2 GiB; a shard of a large table is written in pieces
  const MAX = 1 << 30;
  for (let at = 0; at < b.length; at += MAX) {
    const part = b.subarray(at, Math.min(b.length, at + MAX));
    let done = 0;
    while (done < part.length) done += (await fh.write(part, done, part.length - done)).bytesWritten;
  }
}

function bytes(a: Float32Array): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

/** A manifest's `shards` record, checked (a malformed one makes the checkpoint unreadable). */
export function validateShardSet(v: unknown, path: string, kind: 'train' | 'best'): ShardSet {
  const bad = (why: string) => new CmdcmError(`${path}: corrupted checkpoint (${why})`);
  if (!isObj(v)) throw bad(`shards is ${kindOf(v)}`);
  // the directory must stay inside the run's shard directory: a manifest never points elsewhere
  if (typeof v.dir !== 'string' || !/^ckpt-shards\/(train|best)-s\d+-[0-9a-f]{8}$/.test(v.dir)) throw bad(`shards.dir is ${kindOf(v.dir)}`);
  if (!isInt(v.ranks, 1, 1 << 20)) throw bad(`shards.ranks is ${kindOf(v.ranks)}`);
  const arrays = v.arrays;
  if (!Array.isArray(arrays) || arrays.length === 0 || arrays.some((a, i) => a !== SHARD_ARRAYS[i])) throw bad('shards.arrays is not table[, tableM[, tableV]]');
  if (kind === 'best' ? arrays.length !== 1 : arrays.length < 2) throw bad(`a '${kind}' checkpoint's shards hold ${arrays.join(', ')}`);
  const files = v.files;
  if (!Array.isArray(files) || files.length !== v.ranks) throw bad(`shards.files does not list ${v.ranks} files`);
  files.forEach((f, w) => {
    if (!isObj(f) || f.name !== shardFileName(w, v.ranks as number) || !isInt(f.bytes, SHARD_HEADER) || !isInt(f.crc, 0, 0xffffffff)) throw bad(`shards.files[${w}] is malformed`);
  });
  return v as unknown as ShardSet;
}

/**
 * The rows rank `u` of an N-rank job owns (global row g with g mod N = u, at local row g div N),
 * read from every shard file of `set` that holds any, for each of the set's arrays in `want`
 * (out[name]: ownedRowCount(tableRows, N, u) × dim values, filled in place). With N = 1 this
 * assembles the whole table. Every file read is checked against the manifest (size, CRC) and its
 * own header; a mismatch is a CmdcmError naming the file.
 */
export async function readShardRows(runDir: string, set: ShardSet, tableRows: number, dim: number, N: number, u: number,
  out: Partial<Record<ShardArray, Float32Array>>): Promise<void> {
  const M = set.ranks;
  const mine = ownedRowCount(tableRows, N, u);
  for (const [k, a] of Object.entries(out)) if (a && a.length !== mine * dim) throw new Error(`readShardRows: out.${k} holds ${a.length} values, rank ${u} of ${N} owns ${mine} rows × ${dim}`);
  const g = gcd(M, N);
  for (let w = 0; w < M; w++) {
    // file w holds rows ≡ w (mod M); rank u wants rows ≡ u (mod N): both only if w ≡ u (mod gcd)
    if ((w - u) % g !== 0) continue;
    await readOneShard(join(runDir, set.dir, set.files[w].name), set, w, tableRows, dim, N, u, out);
  }
}

async function readOneShard(path: string, set: ShardSet, w: number, tableRows: number, dim: number, N: number, u: number,
  out: Partial<Record<ShardArray, Float32Array>>): Promise<void> {
  const M = set.ranks, want = set.files[w];
  const local = ownedRowCount(tableRows, M, w);
  const bad = (why: string) => new CmdcmError(`${path}: corrupted checkpoint shard (${why})`);
  let fh: fsp.FileHandle;
  try {
    fh = await fsp.open(path, 'r');
  } catch (e) {
    throw new CmdcmError(describeFsError(e, path, 'cannot read the checkpoint shard') ?? `${path}: cannot read the checkpoint shard (${(e as Error).message})`);
  }
  try {
    const size = (await fh.stat()).size;
    if (size !== want.bytes) throw bad(`${size} bytes, the manifest says ${want.bytes}: truncated or replaced`);
    const head = Buffer.alloc(SHARD_HEADER);
    await fh.read(head, 0, SHARD_HEADER, 0);
    if (head.toString('latin1', 0, 8) !== SHARD_MAGIC) throw bad('bad magic');
    const version = head.readUInt32LE(8);
    if (version !== SHARD_VERSION) throw new CmdcmError(`${path}: checkpoint shard format version ${version}, this cmdcm reads version ${SHARD_VERSION}`);
    if (head.readUInt32LE(12) !== w || head.readUInt32LE(16) !== M || head.readUInt32LE(20) !== set.arrays.length ||
      Number(head.readBigUInt64LE(24)) !== tableRows || head.readUInt32LE(32) !== dim || Number(head.readBigUInt64LE(40)) !== local) {
      throw bad(`its header (rank ${head.readUInt32LE(12)} of ${head.readUInt32LE(16)}, ${head.readBigUInt64LE(24)} rows × ${head.readUInt32LE(32)}) does not match the manifest (rank ${w} of ${M}, ${tableRows} rows × ${dim})`);
    }
    if (head.readUInt32LE(36) !== want.crc) throw bad('its CRC differs from the manifest\'s');
    const rowBytes = dim * 4;
    const chunkRows = Math.max(1, Math.floor(SHARD_CHUNK_BYTES / rowBytes));
    const buf = new Float32Array(Math.min(chunkRows, Math.max(local, 1)) * dim);
    const view = new Uint8Array(buf.buffer);
    let crc = 0, pos = SHARD_HEADER;
    for (const name of set.arrays) {
      const dst = out[name];
      for (let k0 = 0; k0 < local; k0 += chunkRows) {
        const n = Math.min(chunkRows, local - k0);
        const len = n * rowBytes;
        let got = 0;
        while (got < len) {
          const r = await fh.read(view, got, len - got, pos + got);
          if (r.bytesRead === 0) throw bad('ends early');
          got += r.bytesRead;
        }
        pos += len;
        crc = crc32(view.subarray(0, len), crc);
        if (!dst) continue;
        // local row k of file w is global row k·M + w; rank u of N keeps it when that is ≡ u (mod N)
        for (let k = 0; k < n; k++) {
          const gr = (k0 + k) * M + w;
          if (gr % N !== u) continue;
          const at = Math.floor(gr / N) * dim, from = k * dim;
          for (let d = 0; d < dim; d++) dst[at + d] = buf[from + d];
        }
      }
    }
    if ((crc >>> 0) !== want.crc) throw bad('CRC mismatch: the data was damaged after it was written');
  } finally {
    await fh.close().catch(() => {});
  }
}

function gcd(a: number, b: number): number {
  while (b) [a, b] = [b, a % b];
  return a;
}

/**
 * Removes the shard directories of `runDir` that no manifest in `live` references (rank 0, after a
 * manifest landed): those of rotated-out checkpoints and of checkpoints a dead rank never finished.
 * Best effort: a directory that cannot be removed now is retried after the next checkpoint.
 */
export async function removeUnreferencedShards(runDir: string, live: Set<string>): Promise<void> {
  const root = join(runDir, SHARDS_DIR);
  if (!existsSync(root)) return;
  let entries: string[];
  try {
    entries = await fsp.readdir(root);
  } catch {
    return;
  }
  for (const e of entries) {
    if (live.has(`${SHARDS_DIR}/${e}`)) continue;
    await fsp.rm(join(root, basename(e)), { recursive: true, force: true }).catch(() => {});
  }
}
