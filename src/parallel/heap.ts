import v8 from 'node:v8';

/**
 * V8 heap settings for the workers' isolates.
 *
 * A worker's step keeps its tensors and tfjs's tape alive from the forward pass to the end of the
 * backward pass, so the scavenges that fall inside a step promote megabytes of them to the old
 * generation, where they die at once. V8 sizes the old generation's limit from the live heap, and a
 * worker's live heap is small (~20 MB: the tables and parameters are shared memory outside it), so
 * the limit sat at 40–90 MB and a full mark-compact ran every 2–3 steps at 2,048 samples per
 * worker (39 in 48 steps of two workers, `--trace-gc`). Each costs a 5–8 ms pause in the worker and
 * concurrent marking on V8's helper threads. One worker can leave that to the idle core; two workers
 * have no idle core, and a pause in one is a wait at the barrier for the other.
 *
 * Starting the old generation at 256 MB cut that to 14 mark-compacts in the same run, and raised
 * two workers' speedup over one at global batch 4096 from 1.55–1.59 to 1.64–1.69 (bench/scaling
 * `paired-threads`, same process), for +4–5 % peak memory per worker. The garbage is dead at the
 * next collection either way; only the number of collections changes.
 */
export const WORKER_INITIAL_OLD_SPACE_MB = 256;

const FLAG = `--initial-old-space-size=${WORKER_INITIAL_OLD_SPACE_MB}`;

/** Whether the user already chose the old generation's size (their choice wins). */
function userSized(args: string[]): boolean {
  return args.some((a) => /^--(initial|max)[-_]old[-_]space[-_]size\b/.test(a));
}

function nodeOptions(): string[] {
  return (process.env.NODE_OPTIONS ?? '').split(/\s+/).filter(Boolean);
}

/** execArgv for a worker process: the parent's flags, plus the worker heap flag unless the user sized the old space. */
export function workerExecArgv(parent: string[]): string[] {
  return userSized([...parent, ...nodeOptions()]) ? parent : [...parent, FLAG];
}

let threadFlagsSet = false;

/**
 * Worker threads share the process's V8 flags, and V8 reads this one when it creates an isolate:
 * set it before the first worker starts, and it applies to the workers' isolates, not to the
 * already running main one. Once per process; skipped when the user sized the old space.
 */
export function applyWorkerThreadHeapFlags(): void {
  if (threadFlagsSet) return;
  threadFlagsSet = true;
  if (!userSized([...process.execArgv, ...nodeOptions()])) v8.setFlagsFromString(FLAG);
}
