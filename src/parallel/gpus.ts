import { execFileSync } from 'node:child_process';
import { flagError } from '../util/errors.js';

/**
 * Which GPU each worker process sees. tfjs-node places ops on the first visible GPU only and its
 * runtime is per process (DESIGN.md "Compute engines"), so on a multi-GPU host each worker process
 * gets CUDA_VISIBLE_DEVICES naming exactly one device. Pure functions here; detection (nvidia-smi)
 * is separate so the assignment is tested without a GPU.
 */

/** `--gpus 0,1,3` → [0, 1, 3]; errors name the flag. */
export function parseGpuList(text: string, flag = 'gpus'): string[] {
  const parts = text.split(',').map((s) => s.trim());
  if (parts.length === 0 || parts.some((p) => p === '')) throw flagError(flag, `expected a comma-separated list of GPU ids like 0,1, got '${text}'`);
  for (const p of parts) {
    // ids are indices, or the UUIDs nvidia-smi and CUDA_VISIBLE_DEVICES also accept
    if (!/^(\d+|GPU-[0-9a-fA-F-]+|MIG-[0-9a-zA-Z/-]+)$/.test(p)) throw flagError(flag, `'${p}' is not a GPU index or UUID`);
  }
  const seen = new Set<string>();
  for (const p of parts) {
    if (seen.has(p)) throw flagError(flag, `GPU ${p} is listed twice`);
    seen.add(p);
  }
  return parts;
}

/** The GPU indices in `nvidia-smi --query-gpu=index --format=csv,noheader` output. */
export function parseNvidiaSmi(out: string): string[] {
  return out.split(/\r?\n/).map((l) => l.trim()).filter((l) => /^\d+$/.test(l));
}

/**
 * The devices this process may use: CUDA_VISIBLE_DEVICES when the parent already narrowed them
 * (an empty value means none), else what nvidia-smi lists, else none.
 */
export function visibleGpus(env: NodeJS.ProcessEnv, smiOutput: string | undefined): string[] {
  const cvd = env.CUDA_VISIBLE_DEVICES;
  if (cvd !== undefined) {
    const ids = cvd.split(',').map((s) => s.trim()).filter((s) => s !== '');
    // CUDA stops at the first invalid entry (-1 is the conventional "none")
    const stop = ids.findIndex((s) => s.startsWith('-'));
    return stop < 0 ? ids : ids.slice(0, stop);
  }
  return smiOutput === undefined ? [] : parseNvidiaSmi(smiOutput);
}

export function detectGpus(env: NodeJS.ProcessEnv = process.env): string[] {
  let out: string | undefined;
  if (env.CUDA_VISIBLE_DEVICES === undefined) {
    try {
      out = execFileSync('nvidia-smi', ['--query-gpu=index', '--format=csv,noheader'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 10_000 });
    } catch {
      out = undefined;
    }
  }
  return visibleGpus(env, out);
}

export type Transport = 'thread' | 'process';

export interface GpuPlan {
  /** per worker: the CUDA_VISIBLE_DEVICES value for its process, or undefined to inherit the parent's */
  perWorker: (string | undefined)[];
  /** a note for the log when the plan is not one GPU per worker */
  note?: string;
}

/**
 * Worker w gets gpus[w mod G] when worker processes and GPUs are both present. Threads share their
 * process's devices, so they get no assignment. With more workers than GPUs, workers share devices
 * round-robin (and the note says so); with fewer, the extra GPUs stay idle.
 * `hideWhenNone`: with no GPUs, set CUDA_VISIBLE_DEVICES='' so a GPU build of tfjs-node does not
 * probe devices in every worker.
 */
export function assignGpus(workers: number, gpus: readonly string[], transport: Transport, hideWhenNone = false): GpuPlan {
  if (!Number.isInteger(workers) || workers < 1) throw new Error(`assignGpus: workers must be a positive integer, got ${workers}`);
  if (transport === 'thread') {
    return { perWorker: new Array(workers).fill(undefined), note: gpus.length > 1 ? `worker threads share one process: only its first visible GPU is used (use --transport process for ${gpus.length} GPUs)` : undefined };
  }
  if (gpus.length === 0) return { perWorker: new Array(workers).fill(hideWhenNone ? '' : undefined) };
  const perWorker = Array.from({ length: workers }, (_, w) => gpus[w % gpus.length]);
  let note: string | undefined;
  if (workers > gpus.length) note = `${workers} workers on ${gpus.length} GPU(s): workers share GPUs round-robin`;
  else if (workers < gpus.length) note = `${workers} worker(s) on ${gpus.length} GPUs: GPUs ${gpus.slice(workers).join(',')} stay idle`;
  return { perWorker, note };
}
