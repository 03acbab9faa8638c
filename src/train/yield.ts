/**
 * Giving the caller's event loop its turn. A step, a forward pass or a validation chunk computed on
 * the caller's thread is synchronous: a loop of them that only awaits already-settled promises never
 * lets timers, I/O or signal handlers run (measured before: a 50 ms setInterval stalled 3.5 s for a
 * whole one-worker training run, and abort() took effect only at the epoch's end). Awaiting
 * `setImmediate` between pieces of work lets them run; it costs microseconds when nothing waits.
 */
export function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** An AbortError as fetch() and timers/promises throw it, for entry points aborted mid-way. */
export function abortError(signal: AbortSignal): Error {
  const reason = signal.reason as unknown;
  if (reason instanceof Error) return reason;
  const e = new Error(typeof reason === 'string' ? reason : 'the operation was aborted');
  e.name = 'AbortError';
  return e;
}
