import { promises as fsp } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { CmdcmError } from '../util/errors.js';
import { describeFsError } from '../util/fs-errors.js';
import { validateDatasetMeta } from './validate.js';
import { acquireLock, type Lock } from '../util/lock.js';
import { ensureDir } from '../util/fsx.js';
import { isObj } from '../util/json-safe.js';

/**
 * The owner check for every directory cmdcm replaces or writes into (runs: src/train/owner.ts):
 * cmdcm recognises its own dataset or run by content (a meta.json / config.json that validates, with the cmdcm signature),
 * never by a file name, and refuses a directory that holds anything it did not write. Together with
 * the locks this is what keeps a mistyped --out from deleting a user's files.
 */

/** What a dataset directory may hold: nothing else is cmdcm's to delete. */
const DATASET_ENTRIES = new Set(['meta.json', 'shards', 'vocab']);
const VOCAB_FILES = new Set(['users.txt', 'items.txt']);

const refuse = (out: string, why: string) =>
  new CmdcmError(`--out: ${out} ${why}; refusing to replace it (choose another --out, or remove it yourself)`, { exitCode: 2 });

export async function statOrNull(p: string) {
  try { return await fsp.lstat(p); } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new CmdcmError(describeFsError(e, p, 'cannot inspect') ?? `${p}: ${(e as Error).message}`);
  }
}

/**
 * Refuse to replace `out` unless it is absent, empty, or a complete cmdcm dataset holding only
 * what prepare writes (meta.json, the shards it lists, the two vocabularies).
 */
export async function checkDatasetReplaceable(out: string, version: number): Promise<void> {
  const st = await statOrNull(out);
  if (!st) return;
  if (st.isSymbolicLink()) throw refuse(out, 'is a symbolic link');
  if (!st.isDirectory()) throw new CmdcmError(`--out: ${out} exists and is a file, not a dataset directory`, { exitCode: 2 });
  const entries = await fsp.readdir(out);
  if (entries.length === 0) return;
  if (!entries.includes('meta.json')) throw refuse(out, 'is a non-empty directory that is not a cmdcm dataset (no meta.json)');
  const metaPath = join(out, 'meta.json');
  let meta: { shards: { file: string }[] };
  try {
    const m = JSON.parse(await fsp.readFile(metaPath, 'utf8')) as unknown;
    // a dataset of an older format is ours too (re-running prepare is how it is upgraded)
    if (!olderDataset(m, version)) validateDatasetMeta(m, metaPath, out, version);
    meta = m as typeof meta;
  } catch (e) {
    const why = e instanceof CmdcmError ? e.message.replace(`${metaPath}: `, '') : (e as Error).message;
    throw refuse(out, `holds a meta.json that is not a cmdcm dataset's (${why.split('; re-run')[0]})`);
  }
  const foreign = entries.filter((e) => !DATASET_ENTRIES.has(e));
  if (foreign.length) throw refuse(out, `is a cmdcm dataset but also holds ${listed(foreign)}, which cmdcm did not write`);
  const shardNames = new Set(meta.shards.map((s) => basename(s.file)));
  for (const [sub, allowed] of [['shards', shardNames], ['vocab', VOCAB_FILES]] as const) {
    const p = join(out, sub);
    const s = await statOrNull(p);
    if (!s) continue;
    if (!s.isDirectory()) throw refuse(out, `holds ${sub}, which is not a directory`);
    const extra = (await fsp.readdir(p)).filter((f) => !allowed.has(f));
    if (extra.length) throw refuse(out, `is a cmdcm dataset but ${sub}/ also holds ${listed(extra)}, which cmdcm did not write`);
  }
}

/** meta.json of a dataset an earlier cmdcm wrote: an older formatVersion and the layout every version had. */
function olderDataset(m: unknown, version: number): boolean {
  if (!isObj(m) || typeof m.formatVersion !== 'number' || !Number.isInteger(m.formatVersion) || m.formatVersion < 1 || m.formatVersion >= version) return false;
  if (m.cmdcm !== undefined && m.cmdcm !== 'dataset') return false;
  return isObj(m.schema) && isObj(m.counts) && Array.isArray(m.promotions) && Array.isArray(m.shards)
    && m.shards.every((s) => isObj(s) && typeof s.file === 'string' && /^shards\/[^/]+$/.test(s.file));
}

export function listed(names: string[]): string {
  return names.slice(0, 3).map((n) => `'${n}'`).join(', ') + (names.length > 3 ? ` and ${names.length - 3} more` : '');
}

/** The lock beside a dataset directory (the directory itself is renamed away when replaced). */
export function datasetLockPath(out: string): string {
  return join(dirname(out), `.${basename(out)}.cmdcm-lock`);
}

/** Owner check then lock for `prepare --out`; the check is repeated under the lock (a racing prepare may have finished). */
export async function lockDatasetOut(out: string, version: number): Promise<Lock> {
  await checkDatasetReplaceable(out, version);
  await ensureDir(dirname(out), 'parent directory of --out');
  const lock = await acquireLock(datasetLockPath(out), `dataset directory ${out}`);
  try {
    await checkDatasetReplaceable(out, version);
  } catch (e) {
    await lock.release();
    throw e;
  }
  return lock;
}

export async function readJson(p: string): Promise<unknown> {
  let text: string;
  try {
    text = await fsp.readFile(p, 'utf8');
  } catch (e) {
    throw new CmdcmError(describeFsError(e, p, 'cannot read') ?? `${p}: ${(e as Error).message}`);
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new CmdcmError(`${p}: not valid JSON (${(e as Error).message})`);
  }
}
