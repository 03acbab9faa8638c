import { promises as fsp, writeFileSync, renameSync, mkdirSync, rmSync } from 'node:fs';
import { dirname, basename, join } from 'node:path';
import { randomBytes } from 'node:crypto';

/** A temp path beside `target` (same filesystem, so rename is atomic). */
export function tempPathFor(target: string): string {
  return join(dirname(target), `.${basename(target)}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
}

/** Write a file atomically: temp file + fsync + rename. Readers see the old or the new file, never half. */
export async function writeFileAtomic(target: string, data: string | Uint8Array): Promise<void> {
  await fsp.mkdir(dirname(target), { recursive: true });
  const tmp = tempPathFor(target);
  const fh = await fsp.open(tmp, 'w');
  try {
    await fh.writeFile(data);
    await fh.sync();
  } catch (e) {
    await fh.close().catch(() => {});
    await fsp.rm(tmp, { force: true });
    throw e;
  }
  await fh.close();
  await fsp.rename(tmp, target);
}

export function writeFileAtomicSync(target: string, data: string | Uint8Array): void {
  mkdirSync(dirname(target), { recursive: true });
  const tmp = tempPathFor(target);
  try {
    writeFileSync(tmp, data);
    renameSync(tmp, target);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
}

/**
 * Build a directory atomically: `fill` writes into a temp directory beside `target`, which is then
 * renamed into place (an existing target is replaced only after the new one is complete).
 */
export async function buildDirAtomic<T>(target: string, fill: (tmpDir: string) => Promise<T>): Promise<T> {
  const parent = dirname(target);
  await fsp.mkdir(parent, { recursive: true });
  const tmp = tempPathFor(target);
  await fsp.mkdir(tmp, { recursive: true });
  let result: T;
  try {
    result = await fill(tmp);
  } catch (e) {
    await fsp.rm(tmp, { recursive: true, force: true });
    throw e;
  }
  const old = tempPathFor(target) + '.old';
  let hadOld = false;
  try {
    await fsp.rename(target, old);
    hadOld = true;
  } catch { /* no previous target */ }
  await fsp.rename(tmp, target);
  if (hadOld) await fsp.rm(old, { recursive: true, force: true });
  return result;
}
