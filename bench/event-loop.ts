/**
 * The caller's event-loop delay while cmdcm trains and scores (issue 14): a one-worker
 * `train`, then `evaluate` and `predict` of that run, each measured with perf_hooks'
 * monitorEventLoopDelay (max, p99) and a 50 ms setInterval's longest gap; and how long an abort()
 * from a timer takes to end training (one step at most). Prints one JSON line per measurement.
 *   node dist/bench/event-loop.js [--users 600] [--steps 60] [--engine auto]
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generate, prepare, train, evaluate, predict, type EngineName } from '../src/index.js';

process.env.CMDCM_LOG_LEVEL ??= 'silent';
const arg = (name: string, dflt: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : dflt;
};
const users = Number(arg('users', '600')), steps = Number(arg('steps', '60')), engine = arg('engine', 'auto') as EngineName;

async function measure<T>(what: string, job: () => Promise<T>, extra: (r: T) => object = () => ({})): Promise<T> {
  const h = monitorEventLoopDelay({ resolution: 10 });
  let last = performance.now(), maxGap = 0;
  const iv = setInterval(() => {
    const now = performance.now();
    maxGap = Math.max(maxGap, now - last);
    last = now;
  }, 50);
  h.enable();
  const t0 = performance.now();
  const r = await job();
  const ms = performance.now() - t0;
  h.disable();
  clearInterval(iv);
  maxGap = Math.max(maxGap, performance.now() - last);
  console.log(JSON.stringify({ bench: 'event-loop', what, ms: Math.round(ms), delay_max_ms: +(h.max / 1e6).toFixed(1), delay_p99_ms: +(h.percentile(99) / 1e6).toFixed(1), interval_50ms_max_gap_ms: Math.round(maxGap), ...extra(r) }));
  return r;
}

const dir = mkdtempSync(join(tmpdir(), 'cmdcm-evloop-bench-'));
try {
  const log = join(dir, 'log.csv');
  await generate({ out: log, users, items: Math.round(users * 0.7), seed: 1 });
  await prepare({ logs: [log], promos: 'auto', out: join(dir, 'ds'), progress: false });
  const run = join(dir, 'run');
  // the library's default (the run in a worker thread), then on the caller's thread (yielding between steps)
  for (const offThread of [true, false]) {
    await measure(`train (1 worker, ${offThread ? 'off the caller thread' : 'on the caller thread'})`, () => train({ data: join(dir, 'ds'), model: 'cmdcm', out: offThread ? run : run + '-in', engine, workers: 1, offThread, train: { maxSteps: steps, validEvery: 20 } }),
      (r) => ({ steps: r.summary.steps, samples_per_s: Math.round(r.summary.samplesPerSec) }));
  }
  await measure('evaluate', () => evaluate({ run, engine }));
  await measure('predict', () => predict({ run, engine }), (r) => ({ samples: r.n }));
  // abort from a timer: how long after abort() training returns, in steps and ms
  const ac = new AbortController();
  let stepAtAbort = 0, lastStep = 0, tAbort = 0;
  setTimeout(() => { stepAtAbort = lastStep; tAbort = performance.now(); ac.abort(); }, 1500);
  const r = await train({ data: join(dir, 'ds'), model: 'cmdcm', out: join(dir, 'run2'), engine, workers: 1, signal: ac.signal, train: { maxSteps: 100000 }, on: { step: (e) => { lastStep = e.step; } } });
  console.log(JSON.stringify({ bench: 'event-loop', what: 'abort() from a timer during train', abort_to_return_ms: Math.round(performance.now() - tAbort), steps_after_abort: r.summary.steps - stepAtAbort, finished: r.summary.finished }));
} finally {
  rmSync(dir, { recursive: true, force: true });
}
