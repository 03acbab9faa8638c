/**
 * A single progress line on a TTY (rewritten in place), silent otherwise. Shows done/total, rate
 * and ETA. Long work calls `tick`; `done` clears the line.
 */
export class Progress {
  private readonly start = Date.now();
  private last = 0;
  private readonly enabled: boolean;
  constructor(private readonly label: string, private readonly total: number | undefined, private readonly unit = 'items',
    stream: NodeJS.WriteStream = process.stderr) {
    this.stream = stream;
    this.enabled = Boolean(stream.isTTY) && process.env.CMDCM_NO_PROGRESS !== '1';
  }
  private stream: NodeJS.WriteStream;

  tick(done: number, extra = ''): void {
    if (!this.enabled) return;
    const now = Date.now();
    if (now - this.last < 200 && (this.total === undefined || done < this.total)) return;
    this.last = now;
    const secs = Math.max((now - this.start) / 1000, 1e-3);
    const rate = done / secs;
    let line = `${this.label}: ${fmtCount(done)}`;
    if (this.total !== undefined && this.total > 0) {
      const frac = Math.min(done / this.total, 1);
      const width = 24;
      const filled = Math.round(frac * width);
      const eta = rate > 0 ? (this.total - done) / rate : 0;
      line = `${this.label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${fmtCount(done)}/${fmtCount(this.total)} ${(frac * 100).toFixed(0)}% ETA ${fmtSecs(eta)}`;
    }
    line += ` ${fmtCount(rate)} ${this.unit}/s${extra ? ' ' + extra : ''}`;
    this.stream.write(`\r${line.slice(0, (this.stream.columns ?? 120) - 1)}\x1b[K`);
  }

  done(): void {
    if (this.enabled) this.stream.write('\r\x1b[K');
  }
}

export function fmtCount(n: number): string {
  if (n >= 1e9) return (n / 1e9).toFixed(2) + 'G';
  if (n >= 1e6) return (n / 1e6).toFixed(2) + 'M';
  if (n >= 1e4) return (n / 1e3).toFixed(1) + 'k';
  return Math.round(n).toString();
}

export function fmtSecs(s: number): string {
  if (!isFinite(s)) return '?';
  if (s < 60) return `${s.toFixed(0)}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${Math.round(s % 60).toString().padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${Math.round((s % 3600) / 60).toString().padStart(2, '0')}m`;
}
