import pino, { type Logger } from 'pino';
import { printable } from './printable.js';

/**
 * Logging: JSON lines (pino) to a file or stderr. Human-readable progress goes to the TTY separately
 * (see progress.ts), so logs stay machine-readable.
 * CMDCM_LOG_LEVEL sets the level (default 'info' for a run's train.log; 'warn' for the process-wide
 * stderr logger, whose info lines would mix JSON into the commands' human output).
 */
let root: Logger | undefined;
/** a host application's logger (setLogger): warnings then go to it too */
let custom = false;

export function createLogger(opts: { file?: string; level?: string } = {}): Logger {
  return openLogger(opts).logger;
}

/** A logger and the function that closes its destination (a file logger holds a descriptor). */
export function openLogger(opts: { file?: string; level?: string } = {}): { logger: Logger; close(): Promise<void> } {
  const level = opts.level ?? process.env.CMDCM_LOG_LEVEL ?? 'info';
  const dest = opts.file ? pino.destination({ dest: opts.file, mkdir: true, sync: true }) : pino.destination({ dest: 2, sync: true });
  const logger = pino({ level, base: undefined, timestamp: pino.stdTimeFunctions.isoTime }, dest);
  // stderr stays open; a file's descriptor is released (sync mode: everything is already written)
  const close = () => new Promise<void>((resolve) => {
    if (!opts.file) return resolve();
    dest.once('close', () => resolve());
    dest.end();
  });
  return { logger, close };
}

export function log(): Logger {
  if (!root) root = createLogger({ level: process.env.CMDCM_LOG_LEVEL ?? 'warn' });
  return root;
}

export function setLogger(l: Logger): void {
  root = l;
  custom = true;
}

/** Warn once per key: used for fallbacks (e.g. the addon failing to load) that should not spam. */
const warned = new Set<string>();
export function warnOnce(key: string, msg: string): void {
  if (warned.has(key)) return;
  warned.add(key);
  const quiet = process.env.CMDCM_QUIET === '1';
  if (!quiet) process.stderr.write(`cmdcm: warning: ${printable(msg)}\n`);
  // once on stderr is enough: the JSON copy goes to a host's logger, or replaces the silenced line
  if (quiet || custom) log().warn({ key }, msg);
}
