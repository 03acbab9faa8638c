import type { Behavior, LogEvent } from '../types.js';
import type { ReadOptions } from './options.js';
import { readLogSteps, type ReadReport, type RowSink } from './read.js';
import { N_ROLES, ROLE_NAMES } from './spec.js';

/**
 * A log file as an async iterable of `LogEvent` objects (library API, and small inputs). Ids are
 * the exact strings of the input; empty optional fields are left out. This path allocates per
 * event: bulk loading goes through `loadEvents` (src/data/events.ts) instead.
 * `onReport` receives the file's report when it has been read completely.
 */
export async function* readEvents(file: string, opts: ReadOptions = {}, onReport?: (r: ReadReport) => void): AsyncGenerator<LogEvent> {
  let batch: LogEvent[] = [];
  const sink: RowSink = {
    row(buf, ids, behavior, time) {
      const ev: LogEvent = {
        user: buf.toString('utf8', ids[0], ids[1]),
        item: buf.toString('utf8', ids[2], ids[3]),
        category: buf.toString('utf8', ids[4], ids[5]),
        behavior: behavior as Behavior,
        time,
      };
      for (let r = 3; r < N_ROLES; r++) {
        if (ids[2 * r] >= 0 && ids[2 * r + 1] > ids[2 * r]) (ev as unknown as Record<string, string>)[ROLE_NAMES[r]] = buf.toString('utf8', ids[2 * r], ids[2 * r + 1]);
      }
      batch.push(ev);
    },
  };
  const steps = readLogSteps(file, opts, sink);
  for (;;) {
    const r = await steps.next();
    const out = batch;
    batch = [];
    yield* out;
    if (r.done) {
      onReport?.(r.value);
      return;
    }
  }
}
