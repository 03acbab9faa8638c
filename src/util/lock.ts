import { promises as fsp, readFileSync, unlinkSync } from 'node:fs';
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import { dirname } from 'node:path';
import { CmdcmError } from './errors.js';
import { fsError } from './fs-errors.js';

/**
 * An exclusive lock on a run directory or on a dataset being replaced: a lock file created with
 * O_EXCL that holds the owner's pid, host, process start time and a nonce. A process that crashed
 * (SIGKILL, power loss) leaves its file behind; the next taker sees that the pid is gone (or now
 * belongs to a process that started later) and takes the lock over, so a crash never leaves a
 * directory stuck. A lock from another host cannot be checked and is reported with how to clear it.
 */
export interface Lock {
  readonly path: string;
  release(): Promise<void>;
}

interface Owner { pid: number; host: string; start: string | null; nonce: string; since: string; cmd: string }

/** The kernel's start time of `pid` (field 22 of /proc/PID/stat), or null where there is no /proc. */
function startTimeOf(pid: number): string | null {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return s.slice(s.lastIndexOf(')') + 2).split(' ')[19] ?? null;
  } catch {
    return null;
  }
}

function alive(pid: number): boolean {
  try { process.kill(pid, 0); return true; } catch (e) { return (e as NodeJS.ErrnoException).code === 'EPERM'; }
}

/** Whether the owner recorded in a lock file is certainly gone (only decidable on this host). */
function isStale(o: Owner): boolean {
  if (o.host !== hostname()) return false;
  if (!alive(o.pid)) return true;
  // the pid was reused by a process that started after the lock's owner
  const st = startTimeOf(o.pid);
  return o.start !== null && st !== null && st !== o.start;
}

const held = new Map<string, string>();
let exitHook = false;

/**
 * Take the lock file `path` for `what` (e.g. "run directory runs/a"), or throw a one-line
 * CmdcmError naming the process that holds it.
 */
export async function acquireLock(path: string, what: string): Promise<Lock> {
  const me: Owner = {
    pid: process.pid, host: hostname(), start: startTimeOf(process.pid), nonce: randomBytes(8).toString('hex'),
    since: new Date().toISOString(), cmd: process.argv.slice(2).join(' ').slice(0, 200),
  };
  for (let attempt = 0; attempt < 5; attempt++) {
    try {
      const fh = await fsp.open(path, 'wx');
      try { await fh.writeFile(JSON.stringify(me) + '\n'); } finally { await fh.close(); }
      held.set(path, me.nonce);
      if (!exitHook) {
        exitHook = true;
        // process.exit() skips finally blocks: drop our locks on the way out
        process.once('exit', () => {
          for (const [p, nonce] of held) {
            try { if ((JSON.parse(readFileSync(p, 'utf8')) as Owner).nonce === nonce) unlinkSync(p); } catch { /* gone */ }
          }
        });
      }
      return { path, release: () => releaseLock(path, me.nonce) };
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') throw new CmdcmError(`${what}: cannot create its lock file: ${dirname(path)} does not accept new files (a virtual file system such as /proc?); choose another path`);
      if (code !== 'EEXIST') throw fsError(e, path, `cannot create the lock file for the ${what}`);
    }
    const o = await readOwner(path);
    if (o === 'gone') continue;
    if (o === 'young') {
      // written a moment ago by a taker that has not filled it in yet
      await new Promise((r) => setTimeout(r, 50));
      continue;
    }
    if (o === 'garbage' || isStale(o)) {
      // take the stale file away by renaming it: of two takers only one rename succeeds
      const aside = `${path}.stale-${process.pid}-${randomBytes(4).toString('hex')}`;
      try {
        await fsp.rename(path, aside);
        await fsp.rm(aside, { force: true });
      } catch { /* another taker moved it first */ }
      continue;
    }
    const where = o.host === hostname() ? `pid ${o.pid}` : `pid ${o.pid} on host ${o.host}`;
    throw new CmdcmError(`${what} is in use by another cmdcm process (${where}, since ${o.since}${o.cmd ? `: cmdcm ${o.cmd}` : ''}); wait for it to finish` +
      (o.host === hostname() ? '' : `, or remove ${path} if no cmdcm runs there any more`));
  }
  throw new CmdcmError(`${what}: could not take the lock ${path} (it keeps changing hands); retry`);
}

async function readOwner(path: string): Promise<Owner | 'gone' | 'young' | 'garbage'> {
  let text: string, mtime: number;
  try {
    const st = await fsp.stat(path);
    mtime = st.mtimeMs;
    text = await fsp.readFile(path, 'utf8');
  } catch {
    return 'gone';
  }
  try {
    const o = JSON.parse(text) as Owner;
    if (typeof o.pid === 'number' && Number.isInteger(o.pid) && o.pid > 0 && typeof o.host === 'string') return o;
  } catch { /* below */ }
  return Date.now() - mtime < 2000 ? 'young' : 'garbage';
}

async function releaseLock(path: string, nonce: string): Promise<void> {
  if (held.get(path) !== nonce) return;
  held.delete(path);
  try {
    // only our own file: a lock taken over after we were thought dead is not ours to remove
    const o = JSON.parse(await fsp.readFile(path, 'utf8')) as Owner;
    if (o.nonce === nonce) await fsp.rm(path, { force: true });
  } catch { /* already gone */ }
}
