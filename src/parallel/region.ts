import { randomBytes } from 'node:crypto';
import { loadAddon, type AddonFunctions } from '../native.js';
import { CmdcmError } from '../util/errors.js';

/**
 * The shared buffer under a parallel run and the blocking primitive that goes with it.
 *  - threads: a SharedArrayBuffer, blocking with Atomics.wait / Atomics.notify;
 *  - processes: a POSIX shared-memory segment mapped by the addon (native/parallel/shm.cc). JS sees
 *    it as an external, non-shared ArrayBuffer: Atomics.load/add/store work on it, Atomics.wait does
 *    not, so blocking goes through the addon's futex calls, which work across processes.
 */
export type WaitResult = 'ok' | 'not-equal' | 'timed-out';

export interface Waiter {
  wait(ctrl: Int32Array, index: number, expected: number, ms: number): WaitResult;
  notify(ctrl: Int32Array, index: number): void;
}

export const atomicsWaiter: Waiter = {
  wait: (ctrl, index, expected, ms) => Atomics.wait(ctrl, index, expected, ms),
  notify: (ctrl, index) => void Atomics.notify(ctrl, index),
};

type ShmAddon = Pick<AddonFunctions, 'shmCreate' | 'shmOpen' | 'shmUnlink' | 'futexWait' | 'futexWake'>;

export function shmAddon(): ShmAddon {
  const a = loadAddon();
  if (!a || typeof a.shmCreate !== 'function' || typeof a.futexWait !== 'function') {
    throw new CmdcmError('--transport process: needs the native addon\'s shared memory (build it with `npx node-gyp rebuild`, or use --transport thread)');
  }
  return a as ShmAddon;
}

export function futexWaiter(addon: ShmAddon = shmAddon()): Waiter {
  return {
    wait: (ctrl, index, expected, ms) => addon.futexWait(ctrl.buffer as ArrayBuffer, ctrl.byteOffset + index * 4, expected, ms),
    notify: (ctrl, index) => void addon.futexWake(ctrl.buffer as ArrayBuffer, ctrl.byteOffset + index * 4, 0x7fffffff),
  };
}

/** Segment names this process created and has not unlinked yet (removed on exit as a last resort). */
const live = new Set<string>();
let exitHook = false;

export const SHM_PREFIX = 'cmdcm-';

/** Create a segment named /cmdcm-<pid>-<random>; it shows as /dev/shm/cmdcm-… on Linux. */
export function createSegment(bytes: number): { name: string; buffer: ArrayBuffer } {
  const addon = shmAddon();
  const name = `/${SHM_PREFIX}${process.pid}-${randomBytes(6).toString('hex')}`;
  let buffer: ArrayBuffer;
  try {
    buffer = addon.shmCreate(name, bytes);
  } catch (e) {
    throw new CmdcmError(`cannot create a ${(bytes / 2 ** 20).toFixed(1)} MiB shared-memory segment ${name}: ${(e as Error).message} (is /dev/shm full or too small?)`);
  }
  live.add(name);
  if (!exitHook) {
    exitHook = true;
    // 'exit' handlers run on process.exit and normal ends; a fatal signal skips them, which is why
    // the coordinator unlinks the name as soon as every worker has mapped it.
    process.on('exit', () => {
      for (const n of live) addon.shmUnlink(n);
      live.clear();
    });
  }
  return { name, buffer };
}

export function openSegment(name: string): ArrayBuffer {
  return shmAddon().shmOpen(name);
}

/** Remove the name (mappings stay valid until their buffers are collected). Idempotent. */
export function unlinkSegment(name: string): void {
  if (!live.has(name)) return;
  live.delete(name);
  shmAddon().shmUnlink(name);
}
