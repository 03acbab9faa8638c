// A worker thread running one library job for runOffThread (off-thread.ts). No top-level await: the
// job starts from a callback, and results and errors go back as messages.
import { parentPort, workerData } from 'node:worker_threads';
import type { OffThreadKind, OffThreadMessage } from './off-thread.js';
import type { TrainRunOptions } from '../train/run.js';

const { kind, opts, events } = workerData as { kind: OffThreadKind; opts: Record<string, unknown>; events: string[] };
const ac = new AbortController();
parentPort!.on('message', (m: { type: string }) => { if (m.type === 'abort') ac.abort(); });
const post = (m: OffThreadMessage) => parentPort!.postMessage(m);
const forward = (name: string) => (data: unknown) => post({ type: 'event', name, data: name === 'end' ? stripState(data) : data });

// the training state (parameters, tables, moments) is the result's, not each event's
function stripState(d: unknown): unknown {
  if (!d || typeof d !== 'object' || !('state' in d)) return d;
  const { state: _s, ...rest } = d as Record<string, unknown>;
  return rest;
}

async function job(): Promise<unknown> {
  switch (kind) {
    case 'train': {
      const { trainRun } = await import('../train/run.js');
      const on = Object.fromEntries(events.map((e) => [e, forward(e)]));
      return trainRun({ ...(opts as unknown as TrainRunOptions), offThread: false, signal: ac.signal, on });
    }
    case 'evaluate': {
      const { evaluateRun } = await import('../eval/evaluate.js');
      return evaluateRun({ ...(opts as { run: string }), signal: ac.signal, onProgress: events.includes('progress') ? (done: number, total: number) => post({ type: 'event', name: 'progress', data: [done, total] }) : undefined });
    }
    case 'predict': {
      const { predictRun } = await import('../train/predict-csv.js');
      return predictRun({ ...(opts as { run: string }), signal: ac.signal, onProgress: events.includes('progress') ? (done: number, total: number) => post({ type: 'event', name: 'progress', data: [done, total] }) : undefined });
    }
  }
}

job().then((value) => post({ type: 'result', value }), (e: unknown) => {
  const err = e as Error & { exitCode?: number; code?: string };
  post({ type: 'error', error: { name: err?.name ?? 'Error', message: err?.message ?? String(e), exitCode: err?.exitCode, code: err?.code, stack: err?.stack } });
});
