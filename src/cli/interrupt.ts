/**
 * Ctrl-C (SIGINT) or SIGTERM during a command that writes through a temp path: the first signal
 * aborts the work, which then removes its temp files and leaves what was there before untouched;
 * a second one exits at once (`prepare` sweeps what that leaves the next time it runs). `train`
 * has its own handling (it stops after the step and writes a checkpoint).
 */
export async function withInterrupt<T>(command: string, work: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const ac = new AbortController();
  const onSignal = (sig: NodeJS.Signals) => {
    if (ac.signal.aborted) process.exit(sig === 'SIGINT' ? 130 : 143);
    process.stderr.write(`\ncmdcm ${command}: stopping (nothing is written; ${sig} again to quit at once)\n`);
    ac.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    return await work(ac.signal);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
