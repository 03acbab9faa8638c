import { promises as fsp, writeFileSync, renameSync, rmSync } from 'node:fs';
import { dirname, basename, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { ensureDir, ensureDirSync } from './fsx.js';
import { fsError } from './fs-errors.js';

/** A temp path beside `target` (same filesystem, so rename is atomic). */
export function tempPathFor(target: string): string {
  return join(dirname(target), `.${basename(target)}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
}

/**
 * Write a file atomically: temp file + fsync + rename. Readers see the old or the new file, never
 * half. The temp file is removed on every failure path (a full disk, a rename onto a directory), and
 * a file-system error comes back as a CmdcmError naming `target`.
 */
export async function writeFileAtomic(target: string, data: string | Uint8Array): Promise<void> {
  await ensureDir(dirname(target));
  await writeAtomicWith(target, (fh) => fh.writeFile(data));
}

/**
 * writeFileAtomic's protocol with the bytes written by `write` (several buffers in turn, without
 * a concatenated copy); `target`'s directory must exist. `what` words the error.
 */
export async function writeAtomicWith(target: string, write: (fh: fsp.FileHandle) => Promise<void>, what = 'cannot write the file'): Promise<void> {
  const tmp = tempPathFor(target);
  try {
    const fh = await fsp.open(tmp, 'w');
    try {
      await write(fh);
      await fh.sync();
    } finally {
      await fh.close().catch(() => {});
    }
    await fsp.rename(tmp, target);
  } catch (e) {
    await fsp.rm(tmp, { force: true }).catch(() => {});
    throw fsError(e, target, what);
  }
}

export function writeFileAtomicSync(target: string, data: string | Uint8Array): void {
  ensureDirSync(dirname(target));
  const tmp = tempPathFor(target);
  try {
    writeFileSync(tmp, data);
    renameSync(tmp, target);
  } catch (e) {
    try { rmSync(tmp, { force: true }); } catch { /* best effort: the error below matters more */ }
    throw fsError(e, target, 'cannot write the file');
  }
}

/**
 * Build a directory atomically: `fill` writes into a temp directory beside `target`, which is then
 * renamed into place (an existing target is replaced only after the new one is complete). On any
 * failure the temp directory is removed and an existing target is left (or put back) in place.
 */
export async function buildDirAtomic<T>(target: string, fill: (tmpDir: string) => Promise<T>): Promise<T> {
  const parent = dirname(target);
  await ensureDir(parent);
  const tmp = tempPathFor(target);
  try {
    await fsp.mkdir(tmp);
  } catch (e) {
    throw fsError(e, target, 'cannot create a temp directory beside it');
  }
  let result: T;
  try {
    result = await fill(tmp);
  } catch (e) {
    await fsp.rm(tmp, { recursive: true, force: true }).catch(() => {});
    throw fsError(e, target, 'cannot write the dataset');
  }
  const old = tempPathFor(target) + '.old';
  let hadOld = false;
  try {
    await fsp.rename(target, old);
    hadOld = true;
  } catch { /* no previous target */ }
  try {
    await fsp.rename(tmp, target);
  } catch (e) {
    if (hadOld) await fsp.rename(old, target).catch(() => {});
    await fsp.rm(tmp, { recursive: true, force: true }).catch(() => {});
    throw fsError(e, target, 'cannot move the finished directory into place');
  }
  if (hadOld) await fsp.rm(old, { recursive: true, force: true }).catch(() => {});
  return result;
}
