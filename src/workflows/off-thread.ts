/**
 * The library's entry points run off the caller's thread: the whole job (dataset load, engine start,
 * every step, validation, checkpoints; or evaluate / predict) runs in a worker thread, and the
 * caller's thread only receives progress events. A step, a validation pass or the first forward
 * pass of a fresh engine blocks the thread that computes it for 0.1-1 s; in the caller's thread that
 * stalled an embedding service's event loop for as long (issue 14). `signal` is forwarded: the job
 * stops within one step (training, with a final checkpoint) or one forward pass.
 *
 * Only plain-data options cross threads: a caller who passes objects the worker cannot receive (an
 * opened Dataset, a Predictor, a step runner, a logger) gets the in-thread path, which yields to the
 * event loop between steps and passes.
 */
import { Worker } from 'node:worker_threads';
import { CmdcmError } from '../util/errors.js';

export type OffThreadKind = 'train' | 'evaluate' | 'predict';

/** What the worker posts back. */
export type OffThreadMessage =
  | { type: 'event'; name: string; data: unknown }
  | { type: 'result'; value: unknown }
  | { type: 'error'; error: { name: string; message: string; exitCode?: number; code?: string; stack?: string } };

/** Whether `opts` can be sent to a worker (plain data, no functions or class instances besides arrays). */
export function isPlainData(v: unknown, depth = 0): boolean {
  if (depth > 8) return false;
  if (v === null || v === undefined) return true;
  const t = typeof v;
  if (t === 'string' || t === 'number' || t === 'boolean') return true;
  if (t !== 'object') return false;
  if (Array.isArray(v)) return v.every((x) => isPlainData(x, depth + 1));
  if (Object.getPrototypeOf(v) !== Object.prototype) return false;
  return Object.values(v as object).every((x) => isPlainData(x, depth + 1));
}

function revive(e: Extract<OffThreadMessage, { type: 'error' }>['error']): Error {
  let err: Error;
  if (e.name === 'CmdcmError') err = new CmdcmError(e.message, { exitCode: e.exitCode, code: e.code });
  else {
    err = new Error(e.message);
    err.name = e.name;
  }
  if (e.code !== undefined) (err as NodeJS.ErrnoException).code = e.code;
  if (e.stack) err.stack = e.stack;
  return err;
}

/**
 * Runs `kind` with `opts` in a fresh worker thread; `on[name](data)` for each event the job emits.
 * Resolves with the job's result; rejects with its error (a CmdcmError stays one).
 */
export function runOffThread<T>(kind: OffThreadKind, opts: object, on: Record<string, ((data: never) => void) | undefined> = {}, signal?: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason instanceof Error ? signal.reason : Object.assign(new Error('the operation was aborted'), { name: 'AbortError' }));
      return;
    }
    const w = new Worker(new URL('./off-thread-worker.js', import.meta.url), { workerData: { kind, opts, events: Object.keys(on).filter((k) => on[k]) } });
    let settled = false;
    const onAbort = () => w.postMessage({ type: 'abort' });
    signal?.addEventListener('abort', onAbort, { once: true });
    const finish = (fn: () => void) => {
      if (settled) return;
      settled = true;
      signal?.removeEventListener('abort', onAbort);
      // the job is over (its files are written before it posts): the worker's message port would
      // otherwise keep it, and the caller's process, alive
      void w.terminate();
      fn();
    };
    w.on('message', (m: OffThreadMessage) => {
      if (m.type === 'event') {
        try {
          on[m.name]?.(m.data as never);
        } catch (e) {
          // a listener's error is the caller's: stop the job and report it
          w.postMessage({ type: 'abort' });
          finish(() => reject(e));
        }
      } else if (m.type === 'result') finish(() => resolve(m.value as T));
      else finish(() => reject(revive(m.error)));
    });
    w.once('error', (e) => finish(() => reject(e)));
    w.once('exit', (code) => finish(() => reject(new Error(`cmdcm ${kind} worker exited with code ${code} before finishing`))));
  });
}
