/**
 * Data-parallel scaling of the training step (issue 5): samples/s of the default CM-DCM model with
 * 1 and 2 workers over threads and processes (plus the single-process trainer's in-thread step as
 * the baseline), and peak memory, with the default synthetic table and with a 1M-row × 16 table.
 * Each configuration runs in a fresh process so memory figures do not mix. One JSON line per
 * configuration, then a summary line with the ratios.
 *
 *   node dist/bench/scaling.js [--batch 512,1024,2048,4096] [--steps 30] [--warmup 8] [--repeat 1] [--engine native] [--big-steps 3]
 *     [--paired-rounds 8] [--paired-block 4] [--only thread-1,thread-2,paired-threads]
 *
 * Every global batch size in --batch is measured (labels `thread-2@1024`): each worker's step has a
 * fixed cost (tfjs's per-op bookkeeping, parameter views, the reduce), which W workers each pay
 * while they split the per-sample work, so the speedup grows with the batch. The summary also
 * compares each worker count at its own best batch (`best_threads_2v1`, `best_processes_2v1`): the
 * gain a user who tunes the batch size sees. The warmup is long because the first steps run with
 * cold JIT and collector heuristics that do not reflect training.
 * `independent-2@B` runs two separate single-worker trainings at once, each on B/2 samples a step,
 * as each of 2 workers is: the machine's ceiling for any 2-way data-parallel scheme at global batch
 * B, which would add only synchronisation to that (`ceiling_independent_2v1` in the summary).
 *
 * `paired-threads@B` and `paired-processes@B` start a 1-worker and a 2-worker runner in one
 * process and alternate them in short blocks (pairedChild): the speedup measured under the same
 * machine conditions, which on a shared VM whose speed drifts between runs is the figure to trust
 * (`paired_threads_2v1`, `paired_processes_2v1` in the summary; the separate runs' ratios above can
 * be off by ±20 %). `--paired-rounds` (8) and `--paired-block` (4 steps) size it.
 *
 * Every parallel configuration also reports `worker_ms_per_step`, each worker's wall ms per phase
 * (grad, publish, barrier, reduce); CMDCM_PHASE_CPU=1 adds `worker_cpu_ms_per_step`, the same
 * phases in that worker thread's own CPU ms (Linux).
 *
 * `mpi-2@B`, `paired-mpi@B`, `mpi-1-1M`, `mpi-2-1M`: the same training as ranks of an `mpirun` job
 * (`--transport mpi`, see mpiChild), with each rank's resident memory; left out where mpirun is not
 * installed. `paired_mpi_2v1` (2 ranks against 1 in-thread worker, alternated) compares with
 * `paired_threads_2v1`; `paired_mpi_1x2_2v1` is one rank with 2 threads (ranks × threads) against
 * 1 in-thread worker; `rss_1M_mpi_per_rank_2v1` is the largest rank's RSS with 2 ranks over 1.
 *
 * Memory: `rssPeakMiB` is the peak resident set of the coordinator process (threads included);
 * with worker processes, `pssMiB` adds up every process's proportional set size at the end of the
 * timed steps (shared pages split among the processes that map them, so the shared table counts
 * once), and `rssSumMiB` the plain sum of RSS (counts shared pages in every process).
 */
import { spawn, spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { workerExecArgv } from '../src/parallel/heap.js';

interface Conf {
  mode: 'local' | 'thread' | 'process' | 'mpi';
  workers: number;
  batch: number;
  steps: number;
  warmup: number;
  engine: string;
  /** table rows of the item field (the 1M-row run) */
  items?: number;
  label: string;
  /** paired runs: 1 and 2 workers of `mode` alive in one process, alternated in blocks (see pairedChild) */
  paired?: { rounds: number; block: number };
  /** a local training that runs steps on request from its parent (the paired ceiling's halves) */
  serve?: boolean;
  /** mpi: worker threads per rank (hybrid ranks × threads, `--workers` with `--transport mpi`) */
  threads?: number;
}

function kib(status: string, key: string): number {
  const m = new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status);
  return m ? Number(m[1]) : NaN;
}

function procMem(pid: number | 'self'): { rss: number; pss: number; hwm: number } {
  try {
    const st = readFileSync(`/proc/${pid}/status`, 'utf8');
    let pss = NaN;
    try {
      pss = kib(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'), 'Pss');
    } catch { /* older kernels */ }
    return { rss: kib(st, 'VmRSS') / 1024, hwm: kib(st, 'VmHWM') / 1024, pss: pss / 1024 };
  } catch {
    return { rss: NaN, pss: NaN, hwm: NaN };
  }
}

/** user + system CPU seconds of a process (all its threads), from /proc/<pid>/stat. */
function cpuSecs(pid: number | 'self'): number {
  try {
    const st = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = st.slice(st.lastIndexOf(')') + 2).split(' ');
    // fields 14 and 15 of stat (utime, stime), counted after the ')' that ends the command name
    return (Number(f[11]) + Number(f[12])) / 100;
  } catch {
    return NaN;
  }
}

/** CPU seconds per thread name of this process (Linux /proc/self/task): who burns the CPU that no worker phase accounts for. */
function taskCpu(): Record<string, number> {
  const out: Record<string, number> = {};
  try {
    for (const tid of readdirSync('/proc/self/task')) {
      const st = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
      const name = st.slice(st.indexOf('(') + 1, st.lastIndexOf(')'));
      const f = st.slice(st.lastIndexOf(')') + 2).split(' ');
      out[`${name}:${tid}`] = (Number(f[11]) + Number(f[12])) / 100;
    }
  } catch { /* not Linux */ }
  return out;
}

/**
 * What every configuration trains: the default CM-DCM model on the synthetic schema (with `items`
 * rows in the item field when given), 4 pre-gathered batches of `batch` samples cycled through,
 * and a factory for runners of `workers` over `mode` (the in-thread trainStep for 'local').
 */
async function setup(batch: number, engineName: string, items?: number) {
  process.env.CMDCM_LOG_LEVEL ??= 'silent';
  const { createModel, defaultModelConfig } = await import('../src/model/index.js');
  const { optimKernels, useEngine } = await import('../src/engine/index.js');
  const { syntheticSchema, syntheticSamples } = await import('../test/parallel/testing-data.js');
  const { gatherColumns } = await import('../src/data/batch.js');
  const { initTrainState } = await import('../src/train/state.js');
  const { DEFAULT_TRAIN_CONFIG } = await import('../src/train/config.js');
  const { localStepRunner, stepHyper } = await import('../src/train/step.js');
  const { ParallelStepRunner } = await import('../src/parallel/runner.js');
  const engine = await useEngine(engineName as never);
  const schema = syntheticSchema(items ? { items } : {});
  const modelConfig = defaultModelConfig('cmdcm');
  const model = createModel(modelConfig, schema);
  const cfg = { ...DEFAULT_TRAIN_CONFIG, batchSize: batch };
  const data = syntheticSamples(schema, batch * 4, 5);
  const batches = Array.from({ length: 4 }, (_, k) => gatherColumns(schema, data, Array.from({ length: batch }, (_, i) => k * batch + i)));
  const h = stepHyper(cfg, 1e-3);
  const runner = (mode: Conf['mode'], workers: number) => (mode === 'local' ? localStepRunner(model, optimKernels(engine))
    : new ParallelStepRunner(model, { workers, transport: mode as 'thread' | 'process', engine: engine as never, model: { config: modelConfig }, schema, batchSize: batch, tableOptimizer: cfg.tableOptimizer }));
  return { engine, schema, model, modelConfig, cfg, batches, h, newState: () => initTrainState(model, schema, cfg), runner };
}

async function child(c: Conf): Promise<void> {
  const { ParallelStepRunner } = await import('../src/parallel/runner.js');
  const { engine, schema, model, batches, h, newState, runner: makeRunner } = await setup(c.batch, c.engine, c.items);
  const state = newState();
  const runner = makeRunner(c.mode, c.workers);
  await runner.attach?.(state);
  let loss = 0;
  for (let k = 0; k < c.warmup; k++) await runner.step(state, batches[k % 4], h);
  const pids = runner instanceof ParallelStepRunner && c.mode === 'process' ? runner.pids() : [];
  const cpuNow = () => cpuSecs('self') + pids.reduce((a, p) => a + cpuSecs(p), 0);
  const cpu0 = cpuNow(), task0 = taskCpu();
  const t0 = performance.now();
  // per worker, summed over the timed steps: where a worker's wall time goes
  const phases: Record<string, number>[] = [], phasesCpu: Record<string, number>[] = [];
  for (let k = 0; k < c.steps; k++) {
    loss = (await runner.step(state, batches[k % 4], h)).loss;
    if (runner instanceof ParallelStepRunner) {
      for (const r of runner.lastReports) {
        const acc = (phases[r.w] ??= {});
        for (const [name, ms] of Object.entries(r.ms ?? {})) acc[name] = (acc[name] ?? 0) + ms;
        const accC = (phasesCpu[r.w] ??= {});
        for (const [name, ms] of Object.entries(r.cpuMs ?? {})) accC[name] = (accC[name] ?? 0) + ms;
      }
    }
  }
  const secs = (performance.now() - t0) / 1000;
  const cpu = cpuNow() - cpu0, task1 = taskCpu();
  const taskMs = Object.fromEntries(Object.entries(task1).map(([k, v]) => [k, +(((v - (task0[k] ?? 0)) * 1000) / c.steps).toFixed(1)]).filter(([, v]) => (v as number) > 0));
  const self = procMem('self');
  const kids = pids.map((p) => procMem(p));
  await runner.close?.();
  const out = {
    bench: 'scaling', label: c.label, mode: c.mode, workers: c.workers, engine, model: 'cmdcm', batch: c.batch, tableRows: schema.tableRows, dim: model.dim,
    params: model.layout.total, steps: c.steps, ms_per_step: +((secs * 1000) / c.steps).toFixed(1), samples_per_s: +((c.steps * c.batch) / secs).toFixed(1),
    loss: +loss.toFixed(4),
    // CPU time (all threads and worker processes) per 1000 samples: the work, independent of how
    // many cores the other tenants of the machine left free
    cpu_ms_per_1k_samples: +((cpu * 1e6) / (c.steps * c.batch)).toFixed(1),
    // this (coordinator) process's CPU ms per step by thread name (10 ms clock ticks)
    coordinator_threads_cpu_ms_per_step: taskMs,
    cpu_cores_busy: +(cpu / secs).toFixed(2),
    ...(phases.length ? { worker_ms_per_step: phases.map((p) => Object.fromEntries(Object.entries(p).map(([k, v]) => [k, +(v / c.steps).toFixed(1)]))) } : {}),
    ...(phasesCpu.some((p) => Object.keys(p).length) ? { worker_cpu_ms_per_step: phasesCpu.map((p) => Object.fromEntries(Object.entries(p).map(([k, v]) => [k, +(v / c.steps).toFixed(1)]))) } : {}),
    rssPeakMiB: +(process.resourceUsage().maxRSS / 1024).toFixed(1),
    ...(kids.length ? {
      rssSumMiB: +(self.rss + kids.reduce((s, k) => s + k.rss, 0)).toFixed(1),
      pssMiB: +(self.pss + kids.reduce((s, k) => s + k.pss, 0)).toFixed(1),
    } : { pssMiB: +self.pss.toFixed(1) }),
  };
  process.stdout.write(JSON.stringify(out) + '\n');
}

/** A single-worker training in this thread: `steps(n)` runs n steps. */
async function localTraining(batch: number, engineName: string) {
  const { engine, batches, h, newState, runner } = await setup(batch, engineName);
  const state = newState(), local = runner('local', 1);
  let k = 0;
  return { engine, steps: async (n: number) => { for (let i = 0; i < n; i++) await local.step(state, batches[k++ % 4], h); } };
}

/** The paired ceiling's half: a local training on c.batch samples that runs `n` steps per request. */
async function serveChild(c: Conf): Promise<void> {
  const t = await localTraining(c.batch, c.engine);
  process.on('message', async (m: { steps: number } | 'stop') => {
    if (m === 'stop') return process.disconnect();
    await t.steps(m.steps);
    process.send!({ done: m.steps });
  });
  process.send!({ ready: true });
}

/**
 * The paired measurement: `one` and `two` each run n steps and return ms per step. After c.warmup
 * steps of each, c.paired.rounds rounds of one, two, two, one (`block` steps each, so a linear drift
 * of the machine's speed cancels within a round); each round gives one ratio of step times.
 */
async function abba(c: Conf, one: (n: number) => Promise<number>, two: (n: number) => Promise<number>) {
  await one(c.warmup);
  await two(c.warmup);
  const { rounds, block } = c.paired!;
  const ratios: number[] = [], ms1: number[] = [], ms2: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const a1 = await one(block), b1 = await two(block), b2 = await two(block), a2 = await one(block);
    ms1.push((a1 + a2) / 2);
    ms2.push((b1 + b2) / 2);
    ratios.push(ms1[r] / ms2[r]);
  }
  const q = (xs: number[], f: number) => {
    const v = [...xs].sort((x, y) => x - y);
    return v[Math.min(v.length - 1, Math.floor(f * (v.length - 1) + 0.5))];
  };
  const sps = (ms: number) => +((c.batch * 1000) / ms).toFixed(1);
  return {
    rounds, block_steps: block, warmup: c.warmup,
    speedup_2v1_median: +q(ratios, 0.5).toFixed(3),
    speedup_2v1_quartiles: [+q(ratios, 0.25).toFixed(3), +q(ratios, 0.75).toFixed(3)],
    speedup_2v1_range: [+Math.min(...ratios).toFixed(3), +Math.max(...ratios).toFixed(3)],
    rounds_at_or_above_target: ratios.filter((x) => x >= 1.7).length,
    samples_per_s_1_worker_median: sps(q(ms1, 0.5)),
    samples_per_s_2_workers_median: sps(q(ms2, 0.5)),
    ms_per_step_1_worker: ms1.map((x) => +x.toFixed(1)),
    ms_per_step_2_workers: ms2.map((x) => +x.toFixed(1)),
  };
}

/**
 * The machine's ceiling, paired: one local training on the whole batch in this process against two
 * independent local trainings on half the batch each in two child processes, run at once (no shared
 * memory, no synchronisation: the most any 2-way data-parallel scheme can get from two cores), in
 * the same A-B-B-A rounds as pairedChild.
 */
async function pairedCeilingChild(c: Conf): Promise<void> {
  const { fork } = await import('node:child_process');
  const self = await localTraining(c.batch, c.engine);
  const half: Conf = { ...c, label: `${c.label}-half`, batch: Math.floor(c.batch / 2), paired: undefined, serve: true };
  // one reply per request: `next(k)` is the promise of kid k's next message
  let failed: Error | undefined;
  const waiting = new Map<number, { resolve: () => void; reject: (e: Error) => void }>();
  const kids = [0, 1].map((i) => {
    // with the V8 heap settings the trainer gives its worker processes (src/parallel/heap.ts)
    const k = fork(fileURLToPath(import.meta.url), ['--child', JSON.stringify(half)], { execArgv: workerExecArgv(process.execArgv), stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    k.on('message', () => waiting.get(i)?.resolve());
    k.on('exit', (code) => {
      failed ??= new Error(`${c.label}: half ${i} exited with code ${code}`);
      waiting.get(i)?.reject(failed);
    });
    return k;
  });
  const next = (i: number) => new Promise<void>((resolve, reject) => (failed ? reject(failed) : waiting.set(i, { resolve, reject })));
  try {
    await Promise.all([0, 1].map(next));
    const both = async (n: number) => {
      const t0 = performance.now();
      const done = [0, 1].map(next);
      for (const k of kids) k.send({ steps: n });
      await Promise.all(done);
      return (performance.now() - t0) / n;
    };
    const alone = async (n: number) => {
      const t0 = performance.now();
      await self.steps(n);
      return (performance.now() - t0) / n;
    };
    const stats = await abba(c, alone, both);
    process.stdout.write(JSON.stringify({
      bench: 'scaling', label: c.label, mode: 'independent', engine: self.engine, model: 'cmdcm', batch: c.batch, each_batch: half.batch,
      ...stats,
    }) + '\n');
  } finally {
    failed ??= new Error('stopped');
    for (const k of kids) if (k.connected) k.send('stop');
  }
}

/**
 * One worker against two, alternated. This VM's speed drifts by ±20 % within minutes (the same
 * single-worker step measured 142–199 ms in consecutive runs), far more than the effect measured,
 * so separate runs of each configuration compare different machines. Here a 1-worker and a
 * 2-worker runner are both started, on their own copies of the same initial state, and take turns:
 * `block` steps on one, `block` on the other, in A-B-B-A order so a linear drift cancels within
 * each round. Each round gives one ratio of step times; the median over the rounds is the speedup.
 * The idle runner's workers wait on a message and use no CPU.
 */
async function pairedChild(c: Conf): Promise<void> {
  const { engine, batches, h, newState, runner } = await setup(c.batch, c.engine);
  const sides = [1, 2].map((workers) => ({ workers, state: newState(), runner: runner(c.mode, workers), k: 0 }));
  type Side = (typeof sides)[number];
  const run = async (s: Side, n: number): Promise<number> => {
    const t0 = performance.now();
    for (let i = 0; i < n; i++) await s.runner.step(s.state, batches[s.k++ % 4], h);
    return (performance.now() - t0) / n;
  };
  try {
    for (const s of sides) await s.runner.attach?.(s.state);
    const stats = await abba(c, (n) => run(sides[0], n), (n) => run(sides[1], n));
    process.stdout.write(JSON.stringify({
      bench: 'scaling', label: c.label, mode: c.mode, engine, model: 'cmdcm', batch: c.batch, ...stats,
    }) + '\n');
  } finally {
    for (const s of sides) await s.runner.close?.();
  }
}

/**
 * `mpi-N@B`, `mpi-N-1M` and `paired-mpi@B`: this process is one rank of an `mpirun -np N` job
 * (src/parallel/mpi). Every rank builds the same synthetic batches and trains on its part of each
 * (as `cmdcm train --transport mpi` does from the dataset); rank 0 prints the JSON line, with each
 * rank's resident memory (`per_rank`: RSS now and its peak, the table bytes the rank holds) and
 * phase times (MpiStepTimes: rows, grad, wait, dense, rowUpdate, gather), and the bytes it sent to
 * the other ranks per step with the rows its micro-batch touched (the paper model in the README).
 * `paired-mpi@B` alternates, in the same A-B-B-A rounds as pairedChild, a 1-worker in-thread
 * training on rank 0 (the other ranks wait in a broadcast) with the N ranks.
 */
async function mpiChild(c: Conf): Promise<void> {
  const { mpiWorld, MpiStepRunner } = await import('../src/parallel/mpi/index.js');
  const { initTrainState, initTableRows } = await import('../src/train/state.js');
  const { sliceBatch } = await import('../src/parallel/layout.js');
  const { columnWidths } = await import('../src/data/batch.js');
  const world = mpiWorld();
  const lead = world.rank === 0;
  const { engine, schema, model, modelConfig, cfg, batches, h, newState, runner } = await setup(c.batch, c.engine, c.items);
  const mpi = new MpiStepRunner({ world, modelConfig, schema, paramCount: model.layout.total, dim: model.dim, tableOptimizer: cfg.tableOptimizer, threads: c.threads, batchSize: c.batch, engine: engine as never });
  // as `cmdcm train` starts: every rank draws only its own rows of the fresh table
  const { state } = await mpi.start({
    fresh: () => initTrainState(model, schema, cfg, undefined, { table: false }),
    initRows: (N, u, out) => initTableRows(cfg, schema.tableRows, model.dim, N, u, out),
  });
  const widths = columnWidths(schema);
  let k = 0;
  const PH = ['rows', 'grad', 'wait', 'dense', 'rowUpdate', 'gather', 'bytesOut', 'uniqueRows'] as const;
  const phases = Object.fromEntries(PH.map((p) => [p, 0])) as Record<(typeof PH)[number], number>;
  const mpiSteps = async (n: number): Promise<number> => {
    const t0 = performance.now();
    for (let i = 0; i < n; i++) {
      const b = batches[k++ % 4];
      const [lo, hi] = mpi.batchRange(b.n);
      await mpi.step(state, sliceBatch(b, lo, hi, widths), h);
      for (const key of PH) phases[key] += mpi.lastTimes[key];
    }
    return (performance.now() - t0) / n;
  };
  const base = { bench: 'scaling', label: c.label, mode: 'mpi', ranks: world.size, threads_per_rank: c.threads ?? 1, engine, model: 'cmdcm', batch: c.batch, tableRows: schema.tableRows, dim: model.dim, params: model.layout.total };
  if (c.paired) {
    const order = new Int32Array(2);
    if (lead) {
      const localState = newState(), local = runner('local', 1);
      const one = async (n: number) => {
        world.bcast(order.fill(0).fill(n, 1), 0, 'bench order');
        const t0 = performance.now();
        for (let i = 0; i < n; i++) await local.step(localState, batches[k++ % 4], h);
        return (performance.now() - t0) / n;
      };
      const two = async (n: number) => {
        world.bcast(order.fill(1).fill(n, 1), 0, 'bench order');
        return mpiSteps(n);
      };
      const stats = await abba(c, one, two);
      world.bcast(order.fill(-1), 0, 'bench order');
      process.stdout.write(JSON.stringify({ ...base, ...stats }) + '\n');
    } else {
      for (;;) {
        world.bcast(order, 0, 'bench order');
        if (order[0] < 0) break;
        if (order[0] === 1) await mpiSteps(order[1]);
      }
    }
    await mpi.close();
    return;
  }
  await mpiSteps(c.warmup);
  for (const key of PH) phases[key] = 0;
  const cpu0 = cpuSecs('self');
  const ms = await mpiSteps(c.steps);
  const mem = procMem('self');
  const mine = Float64Array.from([mem.rss, mem.hwm, mpi.tableBytes() / 2 ** 20, cpuSecs('self') - cpu0, ...PH.map((p) => phases[p] / c.steps)]);
  const all = new Float64Array(world.size * mine.length);
  world.allgatherv(mine, all, new Int32Array(world.size).fill(mine.length), Int32Array.from({ length: world.size }, (_, u) => u * mine.length), 'bench figures');
  await mpi.close();
  if (!lead) return;
  const per = Array.from({ length: world.size }, (_, u) => all.subarray(u * mine.length, (u + 1) * mine.length));
  const cpu = per.reduce((a, x) => a + x[3], 0);
  process.stdout.write(JSON.stringify({
    ...base, steps: c.steps, ms_per_step: +ms.toFixed(1), samples_per_s: +((c.batch * 1000) / ms).toFixed(1),
    cpu_ms_per_1k_samples: +((cpu * 1e6) / (c.steps * c.batch)).toFixed(1),
    cpu_cores_busy: +(cpu / ((ms * c.steps) / 1000)).toFixed(2),
    per_rank: per.map((x, u) => ({ rank: u, rssMiB: +x[0].toFixed(1), rssPeakMiB: +x[1].toFixed(1), tableMiB: +x[2].toFixed(1), ms_per_step: Object.fromEntries(PH.slice(0, 6).map((p, i) => [p, +x[4 + i].toFixed(1)])),
      bytes_out_per_step: Math.round(x[10]), unique_rows_per_step: Math.round(x[11]) })),
    rssMaxRankMiB: +Math.max(...per.map((x) => x[0])).toFixed(1),
  }) + '\n');
}

/** Whether `mpirun` runs here (the mpi rows are left out, with a note, where it does not). */
function haveMpirun(): boolean {
  return spawnSync('mpirun', ['--version'], { stdio: 'ignore' }).status === 0;
}

function runChild(c: Conf, execArgv = process.execArgv): Promise<Record<string, number | string>> {
  return new Promise((resolve, reject) => {
    const self = [...execArgv, fileURLToPath(import.meta.url), '--child', JSON.stringify(c)];
    // an mpi configuration is an mpirun job of `workers` ranks, each with the worker processes' heap settings
    const [cmd, argv] = c.mode === 'mpi'
      ? ['mpirun', ['--allow-run-as-root', '--oversubscribe', '-np', String(c.workers), process.execPath, ...workerExecArgv(execArgv), ...self.slice(execArgv.length)]]
      : [process.execPath, self];
    const p = spawn(cmd, argv, { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    p.stdout.on('data', (d) => (out += d));
    p.on('close', (code) => {
      const line = out.trim().split('\n').filter((l) => l.startsWith('{')).pop();
      if (code !== 0 || !line) reject(new Error(`${c.label}: exit ${code}`));
      else resolve(JSON.parse(line));
    });
  });
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      child: { type: 'string' }, batch: { type: 'string', default: '512,1024,2048,4096' }, steps: { type: 'string', default: '30' },
      warmup: { type: 'string', default: '8' }, engine: { type: 'string', default: 'native' }, 'big-steps': { type: 'string', default: '3' },
      only: { type: 'string' }, repeat: { type: 'string', default: '1' },
      'paired-rounds': { type: 'string', default: '8' }, 'paired-block': { type: 'string', default: '4' },
    },
  });
  if (values.child) {
    const c = JSON.parse(values.child) as Conf;
    if (c.serve) return serveChild(c);
    if (c.mode === 'mpi') return mpiChild(c);
    if (c.paired) return c.mode === 'local' ? pairedCeilingChild(c) : pairedChild(c);
    return child(c);
  }
  const batches = values.batch!.split(',').map(Number);
  if (batches.some((b) => !Number.isInteger(b) || b < 2)) throw new Error(`--batch: a comma-separated list of integers >= 2, got '${values.batch}'`);
  const steps = Number(values.steps), warmup = Number(values.warmup), engine = values.engine!;
  const big = Number(values['big-steps']);
  const paired = { rounds: Number(values['paired-rounds']), block: Number(values['paired-block']) };
  if (!Number.isInteger(paired.rounds) || paired.rounds < 1) throw new Error(`--paired-rounds: a positive integer, got '${values['paired-rounds']}'`);
  if (!Number.isInteger(paired.block) || paired.block < 1) throw new Error(`--paired-block: a positive integer, got '${values['paired-block']}'`);
  // labels carry the batch (`thread-2@1024`); --only filters on the part before '@'
  const confs: Conf[] = [];
  for (const batch of batches) {
    const at = (l: string) => `${l}@${batch}`;
    confs.push(
      { mode: 'local', workers: 1, batch, steps, warmup, engine, label: at('in-thread') },
      { mode: 'thread', workers: 1, batch, steps, warmup, engine, label: at('thread-1') },
      { mode: 'thread', workers: 2, batch, steps, warmup, engine, label: at('thread-2') },
      { mode: 'process', workers: 1, batch, steps, warmup, engine, label: at('process-1') },
      { mode: 'process', workers: 2, batch, steps, warmup, engine, label: at('process-2') },
      { mode: 'thread', workers: 2, batch, steps, warmup, engine, label: at('paired-threads'), paired },
      { mode: 'process', workers: 2, batch, steps, warmup, engine, label: at('paired-processes'), paired },
      { mode: 'local', workers: 2, batch, steps, warmup, engine, label: at('paired-independent'), paired },
      { mode: 'mpi', workers: 2, batch, steps, warmup, engine, label: at('mpi-2') },
      { mode: 'mpi', workers: 2, batch, steps, warmup, engine, label: at('paired-mpi'), paired },
      // hybrid: one rank with 2 threads against 1 in-thread worker (its threads' cost over the thread transport's)
      { mode: 'mpi', workers: 1, threads: 2, batch, steps, warmup, engine, label: at('paired-mpi-1x2'), paired },
    );
  }
  // memory with a 1M-row table: once, at the first batch size
  const b0 = batches[0];
  confs.push(
    { mode: 'thread', workers: 1, batch: b0, steps: big, warmup: 1, engine, items: 1 << 20, label: 'thread-1-1M' },
    { mode: 'thread', workers: 2, batch: b0, steps: big, warmup: 1, engine, items: 1 << 20, label: 'thread-2-1M' },
    { mode: 'process', workers: 1, batch: b0, steps: big, warmup: 1, engine, items: 1 << 20, label: 'process-1-1M' },
    { mode: 'process', workers: 2, batch: b0, steps: big, warmup: 1, engine, items: 1 << 20, label: 'process-2-1M' },
    { mode: 'mpi', workers: 1, batch: b0, steps: big, warmup: 1, engine, items: 1 << 20, label: 'mpi-1-1M' },
    { mode: 'mpi', workers: 2, batch: b0, steps: big, warmup: 1, engine, items: 1 << 20, label: 'mpi-2-1M' },
  );
  const mpiOk = haveMpirun();
  if (!mpiOk) process.stdout.write(JSON.stringify({ bench: 'scaling', note: 'mpirun not found: the mpi rows are left out (Debian: apt-get install openmpi-bin libopenmpi-dev, then rebuild the addon)' }) + '\n');
  const only = values.only?.split(',');
  const repeat = Number(values.repeat);
  if (!Number.isInteger(repeat) || repeat < 1) throw new Error(`--repeat: a positive integer, got '${values.repeat}'`);
  // With --repeat N every configuration runs N times, the whole list over and over (so slow phases
  // of a shared machine spread over all of them), and the run with the median samples/s is kept.
  const runs: Record<string, Record<string, number | string>[]> = {};
  const median = (label: string) => {
    const key = (x: Record<string, number | string>) => (x.samples_per_s ?? x.speedup_2v1_median) as number;
    const xs = [...runs[label]].sort((a, b) => key(a) - key(b));
    return { ...xs[(xs.length - 1) >> 1], ...(xs.length > 1 ? { runs: xs.length, samples_per_s_range: [xs[0].samples_per_s, xs[xs.length - 1].samples_per_s] } : {}) };
  };
  const res: Record<string, Record<string, unknown>> = {};
  for (let k = 0; k < repeat; k++) {
    for (const c of confs.filter((c) => (!only || only.includes(c.label.split('@')[0])) && (c.mode !== 'mpi' || mpiOk))) {
      const r = await runChild(c);
      (runs[c.label] ??= []).push(r);
      if (repeat > 1) process.stderr.write(`${c.label} run ${k + 1}/${repeat}: ${r.samples_per_s ?? `2v1 ${r.speedup_2v1_median}`}${r.samples_per_s ? ' samples/s' : ''}\n`);
    }
  }
  for (const label of Object.keys(runs)) {
    res[label] = median(label);
    process.stdout.write(JSON.stringify(res[label]) + '\n');
  }
  // The machine's own ceiling: two independent single-worker trainings at once on half the batch
  // each (the work of each of 2 workers, with no shared memory and no synchronisation), their summed
  // samples/s against one training on the whole batch. Each half pays a step's fixed cost, and cores
  // that share caches, memory bandwidth and V8's background threads slow each other; no 2-worker
  // scheme can beat it.
  for (const batch of batches) {
    if (only && !only.includes('independent-2')) break;
    const c: Conf = { mode: 'local', workers: 1, batch: Math.floor(batch / 2), steps, warmup, engine, label: `independent-2@${batch}` };
    for (let k = 0; k < repeat; k++) {
      // each half with the V8 heap settings the trainer gives its worker processes (src/parallel/heap.ts)
      const argv = workerExecArgv(process.execArgv);
      const pair = await Promise.all([runChild(c, argv), runChild(c, argv)]);
      (runs[c.label] ??= []).push({ bench: 'scaling', label: c.label, batch, each_batch: c.batch, samples_per_s: +pair.reduce((a, p) => a + (p.samples_per_s as number), 0).toFixed(1), each_ms_per_step: pair.map((p) => p.ms_per_step).join(',') });
    }
    res[c.label] = median(c.label);
    process.stdout.write(JSON.stringify(res[c.label]) + '\n');
  }
  const r = (a: string, b: string, k: string) => (res[a] && res[b] ? +((res[a][k] as number) / (res[b][k] as number)).toFixed(3) : null);
  // 2 × (CPU per sample with 1 worker) / (CPU per sample with 2): the speedup two free cores would give
  const cpuBound = (two: string, one: string) => (res[two] && res[one] ? +((2 * (res[one].cpu_ms_per_1k_samples as number)) / (res[two].cpu_ms_per_1k_samples as number)).toFixed(3) : null);
  const bestOf = (l: string) => Math.max(...batches.map((b) => (res[`${l}@${b}`]?.samples_per_s as number | undefined) ?? NaN).filter((x) => !Number.isNaN(x)));
  const best = (two: string, one: string) => {
    const x = bestOf(two) / bestOf(one);
    return Number.isFinite(x) ? +x.toFixed(3) : null;
  };
  const os = await import('node:os');
  process.stdout.write(JSON.stringify({
    bench: 'scaling-summary', cpus: os.cpus().length, loadavg: os.loadavg().map((x) => +x.toFixed(2)), steps, warmup,
    by_batch: batches.map((b) => ({
      batch: b,
      speedup_threads_2v1: r(`thread-2@${b}`, `thread-1@${b}`, 'samples_per_s'),
      speedup_processes_2v1: r(`process-2@${b}`, `process-1@${b}`, 'samples_per_s'),
      thread1_vs_in_thread: r(`thread-1@${b}`, `in-thread@${b}`, 'samples_per_s'),
      cpu_bound_speedup_threads_2v1: cpuBound(`thread-2@${b}`, `thread-1@${b}`),
      cpu_bound_speedup_processes_2v1: cpuBound(`process-2@${b}`, `process-1@${b}`),
      ceiling_independent_2v1: r(`independent-2@${b}`, `in-thread@${b}`, 'samples_per_s'),
      paired_threads_2v1: (res[`paired-threads@${b}`]?.speedup_2v1_median as number | undefined) ?? null,
      paired_processes_2v1: (res[`paired-processes@${b}`]?.speedup_2v1_median as number | undefined) ?? null,
      paired_ceiling_independent_2v1: (res[`paired-independent@${b}`]?.speedup_2v1_median as number | undefined) ?? null,
      paired_mpi_2v1: (res[`paired-mpi@${b}`]?.speedup_2v1_median as number | undefined) ?? null,
      paired_mpi_1x2_2v1: (res[`paired-mpi-1x2@${b}`]?.speedup_2v1_median as number | undefined) ?? null,
      mpi_2_vs_thread_2: r(`mpi-2@${b}`, `thread-2@${b}`, 'samples_per_s'),
    })),
    // each worker count at its own best global batch: what a user tuning the batch size gets
    best_threads_2v1: best('thread-2', 'thread-1'),
    best_processes_2v1: best('process-2', 'process-1'),
    rss_1M_threads_2v1: r('thread-2-1M', 'thread-1-1M', 'rssPeakMiB'),
    pss_1M_processes_2v1: r('process-2-1M', 'process-1-1M', 'pssMiB'),
    rssSum_1M_processes_2v1: r('process-2-1M', 'process-1-1M', 'rssSumMiB'),
    // the largest rank's resident memory, 2 ranks against 1: each rank holds half the table
    rss_1M_mpi_per_rank_2v1: r('mpi-2-1M', 'mpi-1-1M', 'rssMaxRankMiB'),
    targets: { speedup: 1.7, memory: 1.3 },
  }) + '\n');
}

await main();
