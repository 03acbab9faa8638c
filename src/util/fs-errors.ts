import { CmdcmError } from './errors.js';

/**
 * File-system errors as one line for the user: what failed, on which path, and what to do about it.
 * Node's own messages (`ENOSPC: no space left on device, write`) often lack the path (writes through
 * a file handle) and never say what to do; these name both.
 */
const HINTS: Record<string, string> = {
  ENOSPC: 'no space left on the device: free some space or choose a directory on another disk',
  EDQUOT: 'disk quota exceeded: free some space or choose a directory on another disk',
  EACCES: 'permission denied: choose a directory you can write to, or fix its permissions',
  EPERM: 'operation not permitted: choose a directory you can write to, or fix its permissions',
  EROFS: 'the file system is read-only: choose a writable directory',
  EEXIST: 'it already exists: remove it or choose another path',
  EISDIR: 'it is a directory: give a file path',
  ENOTDIR: 'a part of the path is a file, not a directory: choose another path',
  ENOENT: 'no such file or directory',
  ENAMETOOLONG: 'the path is too long: choose a shorter one',
  ELOOP: 'too many symbolic links in the path',
  EMFILE: 'too many open files: raise the limit (ulimit -n) or close other programs',
  ENFILE: 'too many open files on the system: close other programs and retry',
  EIO: 'input/output error on the device: check the disk',
  EBUSY: 'the path is busy (in use by another program or a mount point)',
  EXDEV: 'the path is on another file system than its temp file',
  ENOTEMPTY: 'the directory is not empty',
  EFBIG: 'the file is too large for this file system',
};

export function isFsError(e: unknown): e is NodeJS.ErrnoException {
  const err = e as NodeJS.ErrnoException | undefined;
  return !!err && typeof err === 'object' && typeof err.code === 'string' && (typeof err.syscall === 'string' || err.code in HINTS);
}

/**
 * One-line description of a file-system error, or undefined when `e` is not one. `path` is what the
 * user knows the operation by (the error's own path when omitted), `action` what cmdcm was doing.
 */
export function describeFsError(e: unknown, path?: string, action?: string): string | undefined {
  if (!isFsError(e)) return undefined;
  const code = e.code!;
  const p = path ?? e.path ?? (e as { dest?: string }).dest;
  const what = action ?? (e.syscall ? `${e.syscall} failed` : 'file operation failed');
  const hint = HINTS[code] ?? (e.message.split('\n')[0] || code);
  return `${p ? `${p}: ` : ''}${what}: ${hint} (${code})`;
}

/** `e` as a CmdcmError naming `path` when it is a file-system error; otherwise `e` unchanged. */
export function fsError(e: unknown, path: string, action: string): unknown {
  if (e instanceof CmdcmError) return e;
  const msg = describeFsError(e, path, action);
  return msg ? new CmdcmError(msg, { cause: e }) : e;
}

/** Run `f`, turning a file-system error into a CmdcmError naming `path`. */
export async function withFsErrors<T>(path: string, action: string, f: () => Promise<T>): Promise<T> {
  try {
    return await f();
  } catch (e) {
    throw fsError(e, path, action);
  }
}

export function withFsErrorsSync<T>(path: string, action: string, f: () => T): T {
  try {
    return f();
  } catch (e) {
    throw fsError(e, path, action);
  }
}
