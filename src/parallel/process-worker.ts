import { futexWaiter, openSegment } from './region.js';
import { startHeartbeat } from './heartbeat.js';
import { buildModel, WorkerCore, type StepOrder, type WorkerInit } from './worker-core.js';

/**
 * Entry of a worker process (`--transport process`): forked by the coordinator with its own
 * CUDA_VISIBLE_DEVICES, it maps the coordinator's shared-memory segment and then follows step
 * orders over the IPC channel exactly like a worker thread. Errors are reported as a message before
 * a non-zero exit; a death without one is noticed by the coordinator through the exit event.
 */
type Msg = { type: 'init'; init: WorkerInit; shm: string } | StepOrder | { type: 'stop' };

// Ctrl-C reaches the whole process group: the coordinator decides when workers stop (after the
// current step, with a final checkpoint), so workers ignore the signals themselves.
process.on('SIGINT', () => {});
// a thread that beats on fd 4 while this one computes: a stopped process goes silent (heartbeat.ts)
startHeartbeat();
process.on('SIGTERM', () => {});

function send(m: unknown): void {
  if (process.send) process.send(m);
}

let core: WorkerCore | undefined;
let w = -1;
let t = 0;

function fail(e: unknown): void {
  const err = e instanceof Error ? e : new Error(String(e));
  send({ type: 'error', w, t, name: err.name, message: err.message, stack: err.stack });
  // let the IPC message flush before exiting
  setTimeout(() => process.exit(1), 20);
}

process.on('message', (msg: Msg) => {
  if (msg.type === 'init') {
    w = msg.init.w;
    (async () => {
      const buffer = openSegment(msg.shm);
      const model = await buildModel(msg.init);
      core = new WorkerCore(msg.init, buffer, futexWaiter(), model);
      send({ type: 'ready', w });
    })().catch(fail);
    return;
  }
  if (msg.type === 'stop') {
    process.disconnect?.();
    return;
  }
  t = msg.t;
  try {
    if (!core) throw new Error('step order before init');
    send(core.step(msg));
  } catch (e) {
    fail(e);
  }
});
process.on('disconnect', () => process.exit(0));
