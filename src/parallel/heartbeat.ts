import { Worker } from 'node:worker_threads';
import { readFileSync, writeSync } from 'node:fs';
import type { Readable } from 'node:stream';

/**
 * Heartbeat of a worker process: a tiny thread in the worker writes one byte to an extra pipe
 * every BEAT_MS, whatever its main thread is computing. A SIGSTOPped (or frozen) process stops all
 * its threads, so its beats stop; the coordinator turns a silence longer than the timeout into a
 * fault naming the worker, instead of waiting at the barrier forever.
 */
export const BEAT_MS = 500;
/** stdio index of the heartbeat pipe in a forked worker process */
export const HEARTBEAT_FD = 4;
/** Default silence that counts as a dead worker; CMDCM_WORKER_TIMEOUT_MS overrides it. */
export const DEFAULT_HEARTBEAT_TIMEOUT_MS = 30_000;

/** In the worker process: beat on `fd` from a thread of its own (unref'd: it never keeps the process up). */
export function startHeartbeat(fd = HEARTBEAT_FD): void {
  // A first beat now, from this thread: the coordinator only watches a worker that has beaten, and
  // on a loaded machine the beat thread may start after the worker was already stopped (the
  // full test suite hung on exactly that).
  try { writeSync(fd, '.'); } catch { /* no pipe: the coordinator reports the silence */ }
  const src = `const fs = require('node:fs');
const beat = () => { try { fs.writeSync(${fd}, '.'); } catch (e) { if (e.code !== 'EAGAIN') process.exit(0); } };
beat();
setInterval(beat, ${BEAT_MS});`;
  const w = new Worker(src, { eval: true, resourceLimits: { maxOldGenerationSizeMb: 8 } });
  w.unref();
  w.on('error', () => { /* no heartbeat: the coordinator reports the silence */ });
}

export function heartbeatTimeoutMs(opt?: number): number {
  const env = Number(process.env.CMDCM_WORKER_TIMEOUT_MS);
  return opt ?? (Number.isFinite(env) && env > 0 ? env : DEFAULT_HEARTBEAT_TIMEOUT_MS);
}

/** Linux: whether `pid` is stopped (state T/t in /proc/PID/stat), for the message. */
function stopped(pid: number | undefined): boolean {
  if (!pid) return false;
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const st = s.slice(s.lastIndexOf(')') + 2, s.lastIndexOf(')') + 3);
    return st === 'T' || st === 't';
  } catch {
    return false;
  }
}

/**
 * In the coordinator: listens to each worker's pipe and calls `onSilent` once for a worker that
 * has beaten before and then stayed silent for `timeoutMs`. Silence is counted in ticks of the
 * coordinator's own timer, each worth at most 2 s, so a coordinator that was itself busy (a long
 * validation) does not blame a worker whose beats simply wait unread in the pipe.
 */
export class HeartbeatWatch {
  private silent: number[] = [];
  private beaten: boolean[] = [];
  private timer?: NodeJS.Timeout;
  private last = Date.now();
  private fired = false;

  constructor(private readonly timeoutMs: number, private readonly onSilent: (w: number, why: string) => void) {}

  watch(w: number, pipe: Readable | null | undefined, pid: number | undefined): void {
    this.silent[w] = 0;
    this.beaten[w] = false;
    pipe?.on('data', () => { this.silent[w] = 0; this.beaten[w] = true; });
    pipe?.on('error', () => {});
    this.pids[w] = pid;
    if (!this.timer) {
      this.last = Date.now();
      this.timer = setInterval(() => this.tick(), Math.min(1000, Math.max(50, this.timeoutMs / 4)));
      this.timer.unref();
    }
  }

  private pids: (number | undefined)[] = [];

  private tick(): void {
    const now = Date.now(), dt = Math.min(now - this.last, 2000);
    this.last = now;
    if (this.fired) return;
    for (let w = 0; w < this.silent.length; w++) {
      if (!this.beaten[w]) continue;
      this.silent[w] += dt;
      if (this.silent[w] >= this.timeoutMs) {
        this.fired = true;
        const s = (this.silent[w] / 1000).toFixed(1);
        const why = stopped(this.pids[w]) ? `is stopped (SIGSTOP?) and sent no heartbeat for ${s} s` : `sent no heartbeat for ${s} s (frozen or hung)`;
        this.onSilent(w, why);
        return;
      }
    }
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }
}
