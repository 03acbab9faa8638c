import { fork, type ChildProcess } from 'node:child_process';
import { MessageChannel, type MessagePort } from 'node:worker_threads';
import { fileURLToPath } from 'node:url';
import { Piscina } from 'piscina';
import type { Batch, Schema } from '../data/batch.js';
import type { Model } from '../model/types.js';
import type { EngineName } from '../engine/index.js';
import type { TrainState } from '../train/state.js';
import { NonFiniteLossError, type StepHyper, type StepResult, type StepRunner } from '../train/step.js';
import { CmdcmError } from '../util/errors.js';
import { log } from '../util/log.js';
import { abortAll } from './barrier.js';
import { HeartbeatWatch, heartbeatTimeoutMs, HEARTBEAT_FD } from './heartbeat.js';
import type { Readable } from 'node:stream';
import { C_BAD, computeLayout, viewsOf, writeBatch, type RegionLayout, type RegionViews, type TableOptimizer } from './layout.js';
import { atomicsWaiter, createSegment, futexWaiter, unlinkSegment, type Waiter } from './region.js';
import { assignGpus, detectGpus, type Transport } from './gpus.js';
import { applyWorkerThreadHeapFlags, workerExecArgv } from './heap.js';
import type { FaultInjection, ModelSpec, StepOrder, StepReport, WorkerInit } from './worker-core.js';

export interface ParallelOptions {
  /** worker count W ≥ 1 */
  workers: number;
  /** default: 'process' for the tensorflow and cuda engines (one process per GPU), else 'thread' */
  transport?: Transport;
  /** the engine every worker loads (default 'auto') */
  engine?: EngineName;
  /** process transport: the GPU ids to spread workers over; default: detected */
  gpus?: string[];
  /** how each worker builds its own copy of the model (the coordinator's Model gives the sizes) */
  model: ModelSpec;
  schema: Schema;
  /** the largest global batch a step will carry */
  batchSize: number;
  /** the trainer's TrainConfig.tableOptimizer (the state's arrays follow it) */
  tableOptimizer: TableOptimizer;
  /** override the per-worker touched-row capacity (rows) */
  rowCap?: number;
  /**
   * The workers only sum their gradients (`RegionViews.gradSum`, `rowSum`) and update nothing: an
   * MPI rank's threads (src/parallel/mpi), whose rank reduces over the ranks and then applies the
   * optimizer. The state handed to `attach` then has empty moments.
   */
  gradientOnly?: boolean;
  /** testing only: make a worker fail */
  fault?: FaultInjection;
  /** process transport: a worker silent this long (no heartbeat) is a fault; default CMDCM_WORKER_TIMEOUT_MS or 30 s */
  heartbeatTimeoutMs?: number;
}

export function resolveTransport(engine: EngineName, transport: Transport | undefined): Transport {
  // GPU engines default to one worker process per GPU (its own CUDA context / TensorFlow runtime)
  const t = transport ?? (engine === 'tensorflow' || engine === 'cuda' ? 'process' : 'thread');
  if (t !== 'thread' && t !== 'process') throw new CmdcmError(`--transport: expected 'thread' or 'process', got '${t}'`, { exitCode: 2 });
  if (t === 'thread' && engine === 'tensorflow') {
    throw new CmdcmError('--transport thread cannot run --engine tensorflow: tfjs-node cannot be loaded in several worker threads of one process (tensorflow/tfjs#8388); use --transport process', { exitCode: 2 });
  }
  return t;
}

interface Pending {
  t: number;
  reports: (StepReport | undefined)[];
  left: number;
  resolve(r: StepReport[]): void;
  reject(e: Error): void;
}

interface Handle {
  send(m: StepOrder | { type: 'stop' }): void;
  /** resolves when the worker ended on its own after 'stop' */
  ended: Promise<void>;
  kill(): Promise<void>;
  pid?: number;
}

const THREAD_ENTRY = new URL('./thread-worker.js', import.meta.url).href;
const PROCESS_ENTRY = fileURLToPath(new URL('./process-worker.js', import.meta.url));

/**
 * The coordinator's side of the parallel trainer, as the single-process trainer's StepRunner hook
 * (src/train/step.ts): `attach` moves the TrainState's arrays into shared memory and starts the
 * workers, `step` hands them one global batch and waits for all of them, `close` stops them and
 * removes the shared segment. The TrainState keeps pointing at the shared arrays, so checkpoints,
 * validation and the final result read the same values the workers update — a checkpoint has no
 * trace of the worker count.
 */
export class ParallelStepRunner implements StepRunner {
  readonly transport: Transport;
  readonly engine: EngineName;
  private layout?: RegionLayout;
  private views?: RegionViews;
  private waiter: Waiter = atomicsWaiter;
  /** every worker's report of the last step (bench/scaling.ts reads their phase timings) */
  lastReports: readonly StepReport[] = [];
  private shmName?: string;
  private handles: Handle[] = [];
  private pool?: Piscina;
  private ports: MessagePort[] = [];
  private pending?: Pending;
  private failed?: CmdcmError;
  private closing = false;
  private closed = false;
  private readyWaiters: { left: number; resolve(): void; reject(e: Error): void } | undefined;
  private lastT = 0;
  private heartbeat?: HeartbeatWatch;
  /** workers that reported an error message before exiting (process transport) */
  private reportedError = new Map<number, string>();

  constructor(private readonly model: Model, private readonly opts: ParallelOptions) {
    if (!Number.isInteger(opts.workers) || opts.workers < 1) throw new CmdcmError(`--workers: must be a positive integer, got ${opts.workers}`, { exitCode: 2 });
    this.engine = opts.engine ?? 'auto';
    this.transport = resolveTransport(this.engine, opts.transport);
  }

  get workers(): number {
    return this.opts.workers;
  }

  /** OS process ids of the workers (process transport), e.g. for a test that kills one. */
  pids(): number[] {
    return this.handles.map((h) => h.pid ?? -1);
  }

  /** Name of the shared-memory segment while it is linked (process transport, during startup). */
  segmentName(): string | undefined {
    return this.shmName;
  }

  async attach(state: TrainState): Promise<void> {
    const o = this.opts;
    const L = computeLayout({
      workers: o.workers, paramCount: this.model.layout.total, tableRows: o.schema.tableRows, dim: this.model.dim,
      tableOptimizer: o.tableOptimizer, batchCap: o.batchSize, schema: o.schema, rowCap: o.rowCap, gradientOnly: o.gradientOnly,
    });
    if (state.params.length !== L.paramCount || state.table.length !== L.tableRows * L.dim) {
      throw new Error(`parallel: state has ${state.params.length} params / ${state.table.length} table values, the model needs ${L.paramCount} / ${L.tableRows * L.dim}`);
    }
    if (!L.gradientOnly && state.tableV.length !== (L.tableOptimizer === 'lazyAdam' ? state.table.length : 0)) {
      throw new Error(`parallel: the state's embedding-row moments (${state.tableV.length} values in tableV) are not those of ${L.tableOptimizer}`);
    }
    this.layout = L;
    let buffer: ArrayBufferLike;
    if (this.transport === 'process') {
      const seg = createSegment(L.bytes);
      this.shmName = seg.name;
      buffer = seg.buffer;
      this.waiter = futexWaiter();
    } else {
      buffer = new SharedArrayBuffer(L.bytes);
    }
    const V = (this.views = viewsOf(buffer, L));
    V.params.set(state.params);
    V.m.set(state.m);
    V.v.set(state.v);
    V.table.set(state.table);
    if (!L.gradientOnly) {
      V.tableM.set(state.tableM);
      if (L.tableOptimizer === 'lazyAdam') V.tableV.set(state.tableV);
    }
    state.params = V.params;
    state.m = V.m;
    state.v = V.v;
    state.table = V.table;
    state.tableM = V.tableM;
    state.tableV = V.tableV;
    try {
      await this.start(buffer);
    } catch (e) {
      await this.close();
      throw e;
    }
  }

  private initFor(w: number): WorkerInit {
    return { w, layout: this.layout!, schema: this.opts.schema, model: this.opts.model, engine: this.engine, fault: this.opts.fault };
  }

  private async start(buffer: ArrayBufferLike): Promise<void> {
    const W = this.opts.workers;
    const ready = new Promise<void>((resolve, reject) => (this.readyWaiters = { left: W, resolve, reject }));
    if (this.transport === 'thread') this.startThreads(buffer as SharedArrayBuffer);
    else this.startProcesses();
    await ready;
    this.readyWaiters = undefined;
    // Every worker has mapped the segment: drop its name now, so not even a SIGKILL of the whole
    // process group can leave it behind in /dev/shm.
    if (this.shmName) {
      unlinkSegment(this.shmName);
      this.shmName = undefined;
    }
    log().info({ workers: W, transport: this.transport, engine: this.engine, sharedMiB: +(this.layout!.bytes / 2 ** 20).toFixed(1) }, 'parallel workers ready');
  }

  private onMessage(w: number, m: { type: string } & Record<string, unknown>): void {
    if (m.type === 'ready') {
      const r = this.readyWaiters;
      if (r && --r.left === 0) r.resolve();
    } else if (m.type === 'done') {
      const rep = m as unknown as StepReport;
      const p = this.pending;
      if (!p || rep.t !== p.t || p.reports[w]) return;
      p.reports[w] = rep;
      if (--p.left === 0) {
        this.pending = undefined;
        p.resolve(p.reports as StepReport[]);
      }
    } else if (m.type === 'error') {
      this.reportedError.set(w, String(m.message));
    }
  }

  private startThreads(sab: SharedArrayBuffer): void {
    const W = this.opts.workers;
    applyWorkerThreadHeapFlags();
    this.pool = new Piscina({
      filename: THREAD_ENTRY, minThreads: W, maxThreads: W, concurrentTasksPerWorker: 1,
      atomics: 'disabled', idleTimeout: 2 ** 31 - 1,
    });
    for (let w = 0; w < W; w++) {
      const { port1, port2 } = new MessageChannel();
      this.ports.push(port1);
      port1.on('message', (m) => this.onMessage(w, m));
      const done = this.pool.run({ init: this.initFor(w), buffer: sab, port: port2 }, { transferList: [port2] }) as Promise<unknown>;
      const ended = done.then(() => undefined, (e: Error) => {
        if (e?.name === 'AbortedError' || this.closing) return;
        const msg = e?.message ?? String(e);
        this.fault(w, /^worker \d+ failed at step/.test(msg) ? msg : `worker ${w} ${/exited with code/.test(msg) ? msg.replace('worker ', '') : `failed: ${msg}`}`);
      });
      this.handles.push({
        send: (m) => port1.postMessage(m),
        ended,
        kill: async () => {},
      });
    }
  }

  private startProcesses(): void {
    const W = this.opts.workers;
    const gpus = this.opts.gpus ?? detectGpus();
    const plan = assignGpus(W, gpus, 'process', this.engine === 'tensorflow');
    if (plan.note) log().warn({ gpus }, plan.note);
    // workers inherit our flags except the test runner's, plus the worker heap setting (heap.ts)
    const execArgv = workerExecArgv(process.execArgv.filter((a) => !a.startsWith('--test')));
    for (let w = 0; w < W; w++) {
      const env = { ...process.env };
      const dev = plan.perWorker[w];
      if (dev !== undefined) env.CUDA_VISIBLE_DEVICES = dev;
      // fd 4: the worker's heartbeat pipe (heartbeat.ts)
      const child: ChildProcess = fork(PROCESS_ENTRY, [], { env, execArgv, serialization: 'advanced', stdio: ['ignore', 'inherit', 'inherit', 'ipc', 'pipe'] });
      this.heartbeat ??= new HeartbeatWatch(heartbeatTimeoutMs(this.opts.heartbeatTimeoutMs), (hw, why) => this.fault(hw, `worker ${hw} (pid ${this.handles[hw]?.pid}) ${why}`));
      this.heartbeat.watch(w, child.stdio[HEARTBEAT_FD] as Readable | null, child.pid);
      let exited = false;
      const ended = new Promise<void>((resolve) => {
        child.on('exit', (code, signal) => {
          exited = true;
          resolve();
          if (this.closing) return;
          const reported = this.reportedError.get(w);
          const why = reported ?? (signal ? `was killed by ${signal}` : `exited with code ${code}`);
          this.fault(w, reported !== undefined ? `worker ${w} failed at step ${this.currentStep()}: ${why}` : `worker ${w} (pid ${child.pid}) ${why}`);
        });
      });
      child.on('message', (m) => this.onMessage(w, m as { type: string }));
      child.on('error', (e) => this.fault(w, `worker ${w} (pid ${child.pid}): ${e.message}`));
      this.handles.push({
        send: (m) => {
          if (child.connected) child.send(m);
        },
        ended,
        kill: async () => {
          if (!exited) child.kill('SIGKILL');
          await ended;
        },
        pid: child.pid,
      });
      child.send({ type: 'init', init: this.initFor(w), shm: this.shmName });
    }
  }

  private currentStep(): number | string {
    return this.pending?.t ?? (this.readyWaiters ? 'startup' : this.lastT);
  }

  /** First fault wins: stop every worker, fail the step in flight and every later one. */
  private fault(w: number, why: string): void {
    if (this.failed || this.closing) return;
    const where = /at step|startup/.test(why) ? '' : ` at step ${this.currentStep()}`;
    this.failed = new CmdcmError(`parallel training stopped: ${why}${where}; the other workers were stopped and the last checkpoint is kept`);
    (this.failed as CmdcmError & { worker?: number }).worker = w;
    log().error({ worker: w, step: this.pending?.t }, this.failed.message);
    if (this.views) abortAll(this.views.ctrl, this.waiter);
    this.pending?.reject(this.failed);
    this.pending = undefined;
    this.readyWaiters?.reject(this.failed);
    void this.teardown();
  }

  /** The shared region's views (after attach): an MPI rank reads its gradient-only workers' sums there. */
  region(): RegionViews | undefined {
    return this.views;
  }

  /** `scaleN`: the samples each worker's share is a fraction of (default batch.n; an MPI rank's global batch). */
  async step(state: TrainState, batch: Batch, h: StepHyper, scaleN?: number): Promise<StepResult> {
    if (this.failed) throw this.failed;
    if (!this.views || this.closed) throw new Error('parallel runner: step before attach or after close');
    const L = this.layout!, V = this.views;
    if (!L.gradientOnly && h.tableOptimizer !== L.tableOptimizer) throw new Error(`parallel runner: started for ${L.tableOptimizer}, step asks for ${h.tableOptimizer}`);
    if (batch.n > L.batchCap) throw new Error(`parallel runner: batch of ${batch.n} samples, capacity ${L.batchCap} (batchSize option)`);
    writeBatch(V.batch, batch, L);
    Atomics.store(V.ctrl, C_BAD, 0);
    const t = state.step + 1;
    const order: StepOrder = { type: 'step', t, n: batch.n, lr: h.lr, tableLr: h.tableLr, beta1: h.beta1, beta2: h.beta2, eps: h.eps, ...(scaleN !== undefined ? { scaleN } : {}) };
    const reports = await new Promise<StepReport[]>((resolve, reject) => {
      this.pending = { t, reports: new Array(L.workers).fill(undefined), left: L.workers, resolve, reject };
      for (const hd of this.handles) hd.send(order);
    });
    this.lastT = t;
    this.lastReports = reports;
    let loss = 0;
    const terms: Record<string, number> = {};
    for (const r of reports) {
      loss += r.loss;
      for (const [k, v] of Object.entries(r.terms)) terms[k] = (terms[k] ?? 0) + v;
    }
    const bad = reports.find((r) => r.bad)?.bad;
    if (bad) throw new NonFiniteLossError(t, bad.term, bad.value);
    for (const [k, v] of Object.entries(terms)) if (!Number.isFinite(v)) throw new NonFiniteLossError(t, k, v);
    if (!Number.isFinite(loss)) throw new NonFiniteLossError(t, 'loss', loss);
    state.step = t;
    return { step: t, loss, terms, samples: batch.n };
  }

  private tearingDown?: Promise<void>;

  private teardown(): Promise<void> {
    this.heartbeat?.stop();
    this.tearingDown ??= (async () => {
      await Promise.all(this.handles.map((h) => h.kill()));
      if (this.pool) await this.pool.destroy().catch(() => {});
      for (const p of this.ports) p.close();
      if (this.shmName) {
        unlinkSegment(this.shmName);
        this.shmName = undefined;
      }
    })();
    return this.tearingDown;
  }

  /** Stop the workers (after their current step) and remove the shared segment. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (!this.failed) {
      this.closing = true;
      for (const h of this.handles) h.send({ type: 'stop' });
      const grace = new Promise<void>((r) => setTimeout(r, 5000).unref());
      await Promise.race([Promise.all(this.handles.map((h) => h.ended)), grace]);
    }
    this.closing = true;
    await this.teardown();
  }
}

/** `new ParallelStepRunner(model, opts)`, for callers that prefer a function. */
export function parallelStepRunner(model: Model, opts: ParallelOptions): ParallelStepRunner {
  return new ParallelStepRunner(model, opts);
}
