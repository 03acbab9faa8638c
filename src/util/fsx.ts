import { promises as fsp, mkdirSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { CmdcmError } from './errors.js';
import { describeFsError } from './fs-errors.js';

/**
 * `mkdir -p` that cannot spin and that names the path. Node's recursive mkdir loops forever where
 * a parent exists but refuses children with ENOENT (`/proc`, some FUSE mounts): this walks up to the
 * deepest existing ancestor itself, checks it is a directory, and creates each missing level once.
 */
export async function ensureDir(dir: string, what = 'directory'): Promise<void> {
  // a few stat calls up the path: done synchronously, as ensureDirSync does, rather than twice over
  const missing = missingLevels(dir, what);
  for (const p of missing) {
    try {
      await fsp.mkdir(p);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EEXIST' && (await fsp.stat(p).catch(() => undefined))?.isDirectory()) continue;
      throw mkdirError(e, p, dir, what);
    }
  }
}

export function ensureDirSync(dir: string, what = 'directory'): void {
  const missing = missingLevels(dir, what);
  for (const p of missing) {
    try {
      mkdirSync(p);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EEXIST' && statOrUndefined(p)?.isDirectory()) continue;
      throw mkdirError(e, p, dir, what);
    }
  }
}

function statOrUndefined(p: string) {
  try { return statSync(p); } catch { return undefined; }
}

function mkdirError(e: unknown, level: string, dir: string, what: string): CmdcmError {
  const code = (e as NodeJS.ErrnoException).code;
  // ENOENT after the parent was seen to exist: a file system that takes no new entries (/proc, /sys)
  const msg = code === 'ENOENT'
    ? `${dir}: cannot create the ${what}: ${dirname(level)} does not accept new directories (a virtual file system such as /proc?); choose another path`
    : describeFsError(e, dir, `cannot create the ${what}`) ?? `${dir}: cannot create the ${what}: ${(e as Error).message}`;
  return new CmdcmError(msg, { cause: e });
}

function missingLevels(dir: string, what: string): string[] {
  const missing: string[] = [];
  let p = resolve(dir);
  for (;;) {
    let st: import('node:fs').Stats | undefined;
    try { st = statSync(p); } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT') throw new CmdcmError(describeFsError(e, dir, `cannot create the ${what}`) ?? `${dir}: ${(e as Error).message}`, { cause: e });
    }
    if (st) {
      if (!st.isDirectory()) throw new CmdcmError(`${dir}: cannot create the ${what}: ${p} is a file, not a directory; choose another path`);
      return missing.reverse();
    }
    missing.push(p);
    const up = dirname(p);
    if (up === p) return missing.reverse();
    p = up;
  }
}

/**
 * Before the work: an output file path must not be a directory, and its parent must be (or be
 * creatable as) a directory, so a long prediction is not lost to a bad --out at the very end.
 */
export function checkOutFile(path: string, flag: string): void {
  const st = statOrUndefined(path);
  if (st?.isDirectory()) throw new CmdcmError(`--${flag}: ${path} is a directory; give a file path, e.g. ${path.replace(/\/+$/, '')}/predictions.csv`, { exitCode: 2 });
  let p = dirname(resolve(path));
  for (;;) {
    const s = statOrUndefined(p);
    if (s) {
      if (!s.isDirectory()) throw new CmdcmError(`--${flag}: ${path}: ${p} is a file, not a directory`, { exitCode: 2 });
      return;
    }
    const up = dirname(p);
    if (up === p) return;
    p = up;
  }
}
