import { promises as fsp } from 'node:fs';
import { CmdcmError } from '../util/errors.js';
import { writeFileAtomic } from '../util/atomic.js';
import { describeFsError, fsError } from '../util/fs-errors.js';

/**
 * Binary shard files: a fixed 16-byte preamble, a JSON header, then typed-array columns.
 *
 *   bytes 0..7   magic "CMDCMSHD"
 *   bytes 8..11  format version (uint32 LE)
 *   bytes 12..15 header length H in bytes (uint32 LE)
 *   bytes 16..   header: UTF-8 JSON { attrs, columns: [{ name, dtype, length }] }, padded with
 *                spaces so the first column starts on an 8-byte boundary
 *   then         each column's raw little-endian bytes in header order, each padded to 8 bytes
 *
 * The JSON header keeps the format self-describing (a reader can list what a shard holds) while the
 * columns stay raw so a reader maps them into typed arrays without parsing.
 */
export const SHARD_MAGIC = 'CMDCMSHD';
export const SHARD_VERSION = 1;

export type DType = 'i32' | 'f32' | 'u8';
export type { Column } from './types.js';
import type { Column } from './types.js';

export interface ShardContents {
  attrs: Record<string, unknown>;
  columns: Record<string, Column>;
}

function dtypeOf(a: Column): DType {
  if (a instanceof Int32Array) return 'i32';
  if (a instanceof Float32Array) return 'f32';
  return 'u8';
}

// arithmetic, not bitwise: column byte lengths may pass 2^31
const pad8 = (n: number) => Math.ceil(n / 8) * 8;

/** The preamble + header bytes and the padded layout of the columns that follow. */
function shardHead(contents: ShardContents): { head: Buffer; names: string[] } {
  const names = Object.keys(contents.columns);
  const cols = names.map((name) => ({ name, dtype: dtypeOf(contents.columns[name]), length: contents.columns[name].length }));
  const json = Buffer.from(JSON.stringify({ attrs: contents.attrs, columns: cols }), 'utf8');
  const hlen = pad8(16 + json.length) - 16;
  const head = Buffer.alloc(16 + hlen, 0x20);
  head.write(SHARD_MAGIC, 0, 'latin1');
  head.writeUInt32LE(SHARD_VERSION, 8);
  head.writeUInt32LE(hlen, 12);
  json.copy(head, 16);
  return { head, names };
}

const ZEROS = new Uint8Array(8);

/**
 * Write a shard straight from its column arrays (one gathered write, no concatenated copy: shards
 * of a 5M-row log add up to hundreds of MB). Not atomic by itself: prepare writes into a temp dir.
 */
export async function writeShardColumns(file: string, contents: ShardContents): Promise<void> {
  const { head, names } = shardHead(contents);
  const parts: Uint8Array[] = [head];
  for (const n of names) {
    const a = contents.columns[n];
    parts.push(new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
    const pad = pad8(a.byteLength) - a.byteLength;
    if (pad) parts.push(ZEROS.subarray(0, pad));
  }
  const fh = await fsp.open(file, 'w').catch((e) => { throw fsError(e, file, 'cannot write the shard'); });
  try {
    // writev takes at most IOV_MAX buffers and may write partially; loop over what remains
    let i = 0;
    while (i < parts.length) {
      const batch = parts.slice(i, i + 512);
      let { bytesWritten } = await fh.writev(batch);
      for (const p of batch) {
        if (bytesWritten >= p.byteLength) { bytesWritten -= p.byteLength; i++; continue; }
        parts[i] = p.subarray(bytesWritten);
        break;
      }
    }
  } catch (e) {
    // a full disk mid-write: the error names the shard (a handle's own error names no path)
    throw fsError(e, file, 'cannot write the shard');
  } finally {
    await fh.close();
  }
}

export function encodeShard(contents: ShardContents): Buffer {
  const names = Object.keys(contents.columns);
  const cols = names.map((name) => ({ name, dtype: dtypeOf(contents.columns[name]), length: contents.columns[name].length }));
  let header = Buffer.from(JSON.stringify({ attrs: contents.attrs, columns: cols }), 'utf8');
  const hlen = pad8(16 + header.length) - 16;
  header = Buffer.concat([header, Buffer.alloc(hlen - header.length, 0x20)]);
  let total = 16 + hlen;
  for (const n of names) total += pad8(contents.columns[n].byteLength);
  const out = Buffer.alloc(total);
  out.write(SHARD_MAGIC, 0, 'latin1');
  out.writeUInt32LE(SHARD_VERSION, 8);
  out.writeUInt32LE(hlen, 12);
  header.copy(out, 16);
  let off = 16 + hlen;
  for (const n of names) {
    const a = contents.columns[n];
    out.set(new Uint8Array(a.buffer, a.byteOffset, a.byteLength), off);
    off += pad8(a.byteLength);
  }
  return out;
}

export function decodeShard(buf: Uint8Array, file: string): ShardContents {
  const b = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  if (b.length < 16 || b.toString('latin1', 0, 8) !== SHARD_MAGIC) {
    throw new CmdcmError(`${file}: not a cmdcm shard (bad magic number)`);
  }
  const version = b.readUInt32LE(8);
  if (version !== SHARD_VERSION) {
    throw new CmdcmError(`${file}: shard format version ${version}, but this cmdcm reads version ${SHARD_VERSION}; re-run \`cmdcm prepare\``);
  }
  const hlen = b.readUInt32LE(12);
  if (16 + hlen > b.length) throw new CmdcmError(`${file}: truncated shard (header needs ${16 + hlen} bytes, file has ${b.length})`);
  let header: { attrs: Record<string, unknown>; columns: { name: string; dtype: DType; length: number }[] };
  try {
    header = JSON.parse(b.toString('utf8', 16, 16 + hlen));
  } catch (e) {
    throw new CmdcmError(`${file}: corrupt shard header (${(e as Error).message})`);
  }
  checkHeader(header, file, b.length);
  let off = 16 + hlen;
  // no prototype: a column named `__proto__` or `constructor` stays a plain entry
  const columns: Record<string, Column> = Object.create(null) as Record<string, Column>;
  // One aligned copy: the file buffer's offset need not be a multiple of 4.
  const need = header.columns.reduce((s, c) => s + pad8(c.length * (c.dtype === 'u8' ? 1 : 4)), 0);
  if (off + need > b.length) throw new CmdcmError(`${file}: truncated shard (columns need ${off + need} bytes, file has ${b.length})`);
  if (off + need < b.length) throw new CmdcmError(`${file}: corrupt shard (${b.length - off - need} unexpected trailing bytes)`);
  const aligned = new ArrayBuffer(need);
  new Uint8Array(aligned).set(b.subarray(off, off + need));
  let aoff = 0;
  for (const c of header.columns) {
    const bytes = c.length * (c.dtype === 'u8' ? 1 : 4);
    columns[c.name] = c.dtype === 'i32' ? new Int32Array(aligned, aoff, c.length)
      : c.dtype === 'f32' ? new Float32Array(aligned, aoff, c.length) : new Uint8Array(aligned, aoff, c.length);
    aoff += pad8(bytes);
  }
  return { attrs: header.attrs, columns };
}

/**
 * The header's shape before any length is used: a crafted header (a NaN or negative length, an
 * unknown dtype, a duplicate name) must give a message naming the file, never an allocation.
 */
function checkHeader(h: unknown, file: string, fileBytes: number): void {
  const bad = (why: string) => new CmdcmError(`${file}: corrupt shard header (${why})`);
  if (typeof h !== 'object' || h === null || Array.isArray(h)) throw bad('not an object');
  const { attrs, columns } = h as { attrs?: unknown; columns?: unknown };
  if (typeof attrs !== 'object' || attrs === null || Array.isArray(attrs)) throw bad('"attrs" is not an object');
  if (!Array.isArray(columns)) throw bad('"columns" is not a list');
  const names = new Set<string>();
  for (const c of columns as { name?: unknown; dtype?: unknown; length?: unknown }[]) {
    if (typeof c !== 'object' || c === null) throw bad('a column entry is not an object');
    if (typeof c.name !== 'string' || !/^[A-Za-z][A-Za-z0-9_]{0,63}$/.test(c.name) || names.has(c.name)) throw bad(`bad or repeated column name ${JSON.stringify(c.name)}`);
    names.add(c.name);
    if (c.dtype !== 'i32' && c.dtype !== 'f32' && c.dtype !== 'u8') throw bad(`column '${c.name}' has unknown dtype ${JSON.stringify(c.dtype)}`);
    if (typeof c.length !== 'number' || !Number.isInteger(c.length) || c.length < 0 || c.length > fileBytes) throw bad(`column '${c.name}' has impossible length ${JSON.stringify(c.length)}`);
  }
}

export async function writeShard(file: string, contents: ShardContents): Promise<void> {
  await writeFileAtomic(file, encodeShard(contents));
}

export async function readShard(file: string): Promise<ShardContents> {
  let buf: Buffer;
  try {
    buf = await fsp.readFile(file);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (err.code === 'ENOENT') throw new CmdcmError(`${file}: shard file is missing (the dataset directory is incomplete; re-run \`cmdcm prepare\`)`);
    throw new CmdcmError(describeFsError(err, file, 'cannot read the shard') ?? `${file}: cannot read shard: ${err.message}`);
  }
  return decodeShard(buf, file);
}
