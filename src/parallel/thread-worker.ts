import type { MessagePort } from 'node:worker_threads';
import { atomicsWaiter } from './region.js';
import { buildModel, WorkerCore, type StepOrder, type WorkerInit } from './worker-core.js';

/**
 * Piscina task run once per worker thread for a whole training run. Piscina has no broadcast, so
 * each task carries its own MessagePort: the coordinator sends step orders on it and the worker
 * answers each with a report. The task settles when told to stop, or rejects with the first error
 * (naming this worker and the step), which is how the coordinator learns of a fault.
 */
export interface ThreadTask {
  init: WorkerInit;
  buffer: SharedArrayBuffer;
  port: MessagePort;
}

export default async function runWorker(task: ThreadTask): Promise<{ w: number; steps: number }> {
  const { init, buffer, port } = task;
  const model = await buildModel(init);
  const core = new WorkerCore(init, buffer, atomicsWaiter, model);
  let steps = 0;
  return new Promise((resolve, reject) => {
    let t = 0;
    port.on('message', (msg: StepOrder | { type: 'stop' }) => {
      if (msg.type === 'stop') {
        port.close();
        resolve({ w: init.w, steps });
        return;
      }
      t = msg.t;
      try {
        const rep = core.step(msg);
        steps++;
        port.postMessage(rep);
      } catch (e) {
        port.close();
        const err = e instanceof Error ? e : new Error(String(e));
        if (err.name !== 'AbortedError') err.message = `worker ${init.w} failed at step ${t}: ${err.message}`;
        reject(err);
      }
    });
    port.postMessage({ type: 'ready', w: init.w });
  });
}
