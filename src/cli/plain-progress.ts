import { fmtSecs } from '../util/progress.js';

/**
 * Progress for logs (CI, `nohup`, a pipe): the TTY progress bar is silent off a terminal, so a
 * long training printed nothing until its first validation. This writes one plain line every
 * `everyMs` instead: what a CI log needs to show the job is alive and how far it is.
 */
export class PlainProgress {
  private last: number;
  private readonly start: number;
  constructor(
    private readonly label: string,
    private readonly total: number,
    private readonly everyMs: number,
    private readonly write: (line: string) => void,
    private readonly now: () => number = Date.now,
  ) {
    this.start = this.last = now();
  }

  /** `done` of `total` so far; prints when `everyMs` passed since the last line. */
  tick(done: number, extra = ''): void {
    const t = this.now();
    if (t - this.last < this.everyMs) return;
    this.last = t;
    const secs = Math.max((t - this.start) / 1000, 1e-3);
    const eta = done > 0 ? ((this.total - done) * secs) / done : NaN;
    const pct = this.total > 0 ? ` (${Math.floor((100 * done) / this.total)}%)` : '';
    this.write(`${this.label}: ${done}/${this.total}${pct}, ${fmtSecs(secs)} elapsed, ETA ${fmtSecs(eta)}${extra ? ', ' + extra : ''}\n`);
  }
}

/** Whether to print plain progress lines: off a terminal, unless CMDCM_NO_PROGRESS=1. */
export function plainProgressWanted(stream: NodeJS.WriteStream = process.stderr): boolean {
  return !stream.isTTY && process.env.CMDCM_NO_PROGRESS !== '1';
}
