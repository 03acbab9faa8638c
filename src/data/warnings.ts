import { openSync, readSync, closeSync, statSync } from 'node:fs';
import { createHash } from 'node:crypto';
import type { DatasetMeta } from './dataset.js';

/**
 * Warnings for datasets that build fine but would train silently wrong: cmdcm learns delayed
 * conversion from historical promotions, so one with no samples or no delayed buys teaches nothing
 * (the real Tmall 06-18 window has no promotion-day buys at all).
 */
export function datasetWarnings(meta: DatasetMeta): string[] {
  const out: string[] = [];
  const per = meta.perPromotion ?? [];
  const hist = per.filter((_, i) => i !== meta.target);
  for (const p of hist) {
    if (p.samples === 0) {
      out.push(`historical promotion ${p.date}:${p.preDays} has no samples (no clicks in its ${p.preDays}-day pre-window in the log): it adds nothing to training; check its date against the log's range ${meta.dateRange?.join(' to ') ?? ''}`.trimEnd());
    } else if (p.positives.delayed === 0) {
      out.push(`historical promotion ${p.date}:${p.preDays} has ${p.samples} samples but no delayed buys (no promotion-day purchase of a pre-window click): it gives the delayed and transition tasks no positive label`);
    }
  }
  if (hist.length > 0 && hist.every((p) => p.positives.delayed === 0)) {
    out.push('no historical promotion has a delayed buy: the model cannot learn delayed conversion from this dataset (check the promotion dates against the log)');
  }
  return out;
}

/** Inode identity, or a fingerprint of size + head + tail for copies. */
function identity(file: string): { ino: string; content: string } | undefined {
  try {
    const st = statSync(file);
    if (!st.isFile()) return undefined;
    const fd = openSync(file, 'r');
    try {
      const n = 65536, h = createHash('sha1').update(String(st.size));
      const buf = Buffer.alloc(n);
      h.update(buf.subarray(0, readSync(fd, buf, 0, n, 0)));
      if (st.size > n) h.update(buf.subarray(0, readSync(fd, buf, 0, n, Math.max(n, st.size - n))));
      return { ino: `${st.dev}:${st.ino}`, content: h.digest('hex') };
    } finally {
      closeSync(fd);
    }
  } catch {
    return undefined;
  }
}

/** Logs given twice (the same file, or byte-identical copies): their events would count twice. */
export function duplicateLogWarnings(logs: readonly string[]): string[] {
  const out: string[] = [];
  const seen: { file: string; id: { ino: string; content: string } }[] = [];
  for (const f of logs) {
    const id = identity(f);
    if (!id) continue;
    const same = seen.find((s) => s.id.ino === id.ino);
    const copy = same ? undefined : seen.find((s) => s.id.content === id.content);
    if (same) out.push(`--log ${f} is the same file as --log ${same.file}: its events are read twice (give each log once)`);
    else if (copy) out.push(`--log ${f} looks like a copy of --log ${copy.file} (same size, same first and last 64 KB): its events would count twice; give each log once`);
    seen.push({ file: f, id });
  }
  return out;
}
