import { existsSync, readFileSync } from 'node:fs';
import { writeFileAtomicSync } from '../util/atomic.js';
import { log } from '../util/log.js';

/**
 * On resume from the checkpoint at `step`, drop the step and validation lines logged after it: the
 * resumed run logs those steps again, and metrics.jsonl must hold each step once. Lines that are
 * not JSON (a line cut by a crash) go too. Rewritten atomically; a file with nothing to drop is not
 * touched.
 */
export function trimMetricsAfter(path: string, step: number): number {
  if (!existsSync(path)) return 0;
  const lines = readFileSync(path, 'utf8').split('\n').filter((l) => l.length > 0);
  const keep = lines.filter((l) => {
    let o: { type?: unknown; step?: unknown; steps?: unknown };
    try { o = JSON.parse(l); } catch { return false; }
    const at = typeof o.step === 'number' ? o.step : typeof o.steps === 'number' ? o.steps : undefined;
    return at === undefined || at <= step;
  });
  const dropped = lines.length - keep.length;
  if (dropped > 0) {
    writeFileAtomicSync(path, keep.map((l) => l + '\n').join(''));
    log().info({ path, step, dropped }, 'metrics log: dropped the lines after the checkpoint resumed from');
  }
  return dropped;
}
