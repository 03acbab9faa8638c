import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { CmdcmError } from '../util/errors.js';
import { BEHAVIORS, SECONDS_PER_DAY, type BehaviorName, type LogFormat, type TimeResolution } from './types.js';
import { DATASET_FORMAT_VERSION, type DatasetMeta } from './dataset.js';
import { validateDatasetMeta } from './validate.js';
import type { ReadOptions } from './readers/options.js';
import { readLog, type ReadProgress, type ReadReport, type RowSink } from './readers/read.js';
import { IdInterner } from './readers/intern.js';
import { coarserResolution } from './events.js';

/**
 * `cmdcm inspect`: what a log holds (counts, date range, a per-day bar chart in which a promotion's
 * buy spike stands out) or what a prepared dataset's meta.json says. Log summaries stream: memory
 * grows with distinct ids, not with rows.
 */

export interface DayCounts {
  /** ISO date (local) */
  date: string;
  /** counts per behavior, BEHAVIORS order */
  counts: number[];
}

export interface LogSummary {
  files: ReadReport[];
  format: LogFormat;
  resolution: TimeResolution;
  rows: number;
  badRows: number;
  users: number;
  items: number;
  categories: number;
  perBehavior: Record<BehaviorName, number>;
  /** local wall-clock seconds of the first / last event (ISO strings below) */
  firstTime: number;
  lastTime: number;
  first: string;
  last: string;
  /** every day from the first to the last event, empty days included */
  days: DayCounts[];
}

/** Counts without keeping events: ids interned only to count distinct ones. */
class SummarySink implements RowSink {
  readonly users = new IdInterner();
  readonly items = new IdInterner();
  readonly categories = new IdInterner();
  readonly perBehavior = [0, 0, 0, 0];
  readonly perDay = new Map<number, number[]>();
  minT = Infinity;
  maxT = -Infinity;
  private lastDay = NaN;
  private lastCounts: number[] = [];
  row(buf: Buffer, ids: Int32Array, behavior: number, time: number): void {
    this.users.internBytes(buf, ids[0], ids[1]);
    this.items.internBytes(buf, ids[2], ids[3]);
    this.categories.internBytes(buf, ids[4], ids[5]);
    this.perBehavior[behavior]++;
    if (time < this.minT) this.minT = time;
    if (time > this.maxT) this.maxT = time;
    const day = Math.floor(time / SECONDS_PER_DAY);
    if (day !== this.lastDay) {
      let c = this.perDay.get(day);
      if (!c) this.perDay.set(day, (c = [0, 0, 0, 0]));
      this.lastDay = day;
      this.lastCounts = c;
    }
    this.lastCounts[behavior]++;
  }
}

export function isoDay(day: number): string {
  return new Date(day * SECONDS_PER_DAY * 1000).toISOString().slice(0, 10);
}

export function isoTime(t: number, resolution: TimeResolution): string {
  const s = new Date(t * 1000).toISOString();
  return resolution === 'day' ? s.slice(0, 10) : resolution === 'hour' ? s.slice(0, 13).replace('T', ' ') + 'h' : s.slice(0, 19).replace('T', ' ');
}

export async function summarizeLogs(files: string[], opts: ReadOptions = {}, onProgress?: (p: ReadProgress) => void): Promise<LogSummary> {
  if (files.length === 0) throw new CmdcmError('no log files given');
  const sink = new SummarySink();
  const reports: ReadReport[] = [];
  for (const f of files) reports.push(await readLog(f, opts, sink, onProgress));
  const formats = new Set(reports.map((r) => r.format));
  const resolution = reports.map((r) => r.resolution).reduce(coarserResolution);
  const rows = reports.reduce((a, r) => a + r.rows, 0);
  const days: DayCounts[] = [];
  if (rows > 0) {
    const d0 = Math.floor(sink.minT / SECONDS_PER_DAY), d1 = Math.floor(sink.maxT / SECONDS_PER_DAY);
    for (let d = d0; d <= d1; d++) days.push({ date: isoDay(d), counts: sink.perDay.get(d) ?? [0, 0, 0, 0] });
  }
  const perBehavior = Object.fromEntries(BEHAVIORS.map((b, i) => [b, sink.perBehavior[i]])) as Record<BehaviorName, number>;
  return {
    files: reports,
    format: formats.size === 1 ? [...formats][0] : 'generic',
    resolution, rows,
    badRows: reports.reduce((a, r) => a + r.badRows, 0),
    users: sink.users.size, items: sink.items.size, categories: sink.categories.size,
    perBehavior,
    firstTime: sink.minT, lastTime: sink.maxT,
    first: rows > 0 ? isoTime(sink.minT, resolution) : '', last: rows > 0 ? isoTime(sink.maxT, resolution) : '',
    days,
  };
}

const PROMO_DAYS: Record<string, string> = { '11-11': 'Double 11', '12-12': 'Double 12', '06-18': '618' };

function n(x: number): string {
  return x.toLocaleString('en-US');
}

function bar(v: number, max: number, width: number): string {
  if (max <= 0 || v <= 0) return ''.padEnd(width);
  // any non-zero count gets at least one mark, so a rare behavior's days stay visible
  const w = Math.max(1, Math.round((v / max) * width));
  return '#'.repeat(w).padEnd(width);
}

/**
 * Per-day chart of clicks, carts and buys. Each behavior's bars are scaled to its own busiest day,
 * so the promotion-day buy spike is as visible as the click volume.
 */
export function dayChart(days: DayCounts[], width = 20): string[] {
  const shown: [string, number][] = [['click', 0], ['cart', 2], ['buy', 3]];
  const max = shown.map(([, b]) => Math.max(0, ...days.map((d) => d.counts[b])));
  const cw = max.map((m) => n(m).length);
  const head = `  ${'day'.padEnd(10)}  ` + shown.map(([name], i) => `${name.padEnd(width)} ${''.padStart(cw[i])}`).join('  ');
  const lines = [head.trimEnd()];
  for (const d of days) {
    const cells = shown.map(([, b], i) => `${bar(d.counts[b], max[i], width)} ${n(d.counts[b]).padStart(cw[i])}`);
    const promo = PROMO_DAYS[d.date.slice(5)];
    lines.push(`  ${d.date}  ${cells.join('  ')}${promo ? `  <- ${promo}` : ''}`);
  }
  return lines;
}

export function formatLogSummary(s: LogSummary, opts: { chart?: boolean; width?: number } = {}): string {
  const out: string[] = [];
  for (const r of s.files) {
    out.push(`${r.file}: ${r.describe}${r.gzip ? ', gzip' : ''}, ${n(r.rows)} rows, ${n(r.badRows)} bad`);
    const per = (Object.keys(r.bad) as (keyof typeof r.bad)[]).filter((k) => r.bad[k] > 0).map((k) => `${k}: ${n(r.bad[k])}`);
    if (per.length) out.push(`  bad rows by reason: ${per.join(', ')}`);
    for (const e of r.examples) out.push(`  ${e}`);
  }
  out.push('');
  out.push(`format      ${s.format} (time resolution: ${s.resolution})`);
  out.push(`rows        ${n(s.rows)}${s.badRows ? ` (+ ${n(s.badRows)} bad rows skipped)` : ''}`);
  out.push(`users       ${n(s.users)}`);
  out.push(`items       ${n(s.items)}`);
  out.push(`categories  ${n(s.categories)}`);
  out.push(`behaviors   ${BEHAVIORS.map((b) => `${b} ${n(s.perBehavior[b])}`).join(', ')}`);
  if (s.rows > 0) out.push(`date range  ${s.first} .. ${s.last} (${s.days.length} days)`);
  if (opts.chart !== false && s.days.length > 0) {
    out.push('');
    out.push('per day (bars scaled per behavior to its busiest day):');
    out.push(...dayChart(s.days, opts.width));
  }
  return out.join('\n');
}

/** The dataset's meta.json, or undefined when `dir` has none (not a prepared dataset). */
export async function readDatasetMeta(dir: string): Promise<DatasetMeta | undefined> {
  const file = join(dir, 'meta.json');
  let text: string;
  try {
    text = await fsp.readFile(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new CmdcmError(`${file}: cannot read (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
  }
  let meta: unknown;
  try {
    meta = JSON.parse(text);
  } catch (e) {
    throw new CmdcmError(`${file}: not valid JSON (${(e as Error).message})`);
  }
  // tolerant of older or partial metas, but not of a meta.json that does not describe a dataset
  // at all (null, a number, fields of the wrong type): inspect names the first problem instead
  if (typeof meta !== 'object' || meta === null || Array.isArray(meta)) validateDatasetMeta(meta, file, dir, DATASET_FORMAT_VERSION);
  try {
    formatDatasetMeta(dir, meta as Partial<DatasetMeta>);
  } catch (e) {
    if (!(e instanceof TypeError)) throw e;
    validateDatasetMeta(meta, file, dir, DATASET_FORMAT_VERSION);
    throw new CmdcmError(`${file}: malformed meta.json (${e.message})`);
  }
  return meta as DatasetMeta;
}

/** A dataset summary from meta.json; tolerant of missing fields (older or partial metas). */
export function formatDatasetMeta(dir: string, meta: Partial<DatasetMeta>): string {
  const out: string[] = [`dataset ${dir}`];
  if (meta.formatVersion !== undefined) out.push(`format version ${meta.formatVersion}${meta.createdAt ? `, created ${meta.createdAt}` : ''}`);
  if (meta.sources?.length) {
    out.push('sources:');
    for (const s of meta.sources) out.push(`  ${s.file}: ${s.format}, ${n(s.rows)} rows, ${n(s.badRows)} bad`);
  }
  if (meta.resolution) out.push(`time resolution ${meta.resolution}`);
  if (meta.promotions?.length) {
    out.push('promotions:');
    meta.promotions.forEach((p, i) => {
      const tag = i === meta.target ? `  target${meta.targetOutcomeKnown ? ' (outcome in log)' : ' (outcome not in log)'}` : '  historical';
      out.push(`  ${p.date}, pre-window ${p.preDays} days${tag}`);
    });
  }
  const c = meta.counts;
  if (c) {
    out.push(`events ${n(c.events)}, users ${n(c.users)}, items ${n(c.items)}, samples ${n(c.samples)}`);
    if (c.perSplit) out.push(`samples per split: ${Object.entries(c.perSplit).map(([k, v]) => `${k} ${n(v)}`).join(', ')}`);
    if (c.perBehavior) out.push(`events per behavior: ${Object.entries(c.perBehavior).map(([k, v]) => `${k} ${n(v)}`).join(', ')}`);
  }
  if (meta.validDays !== undefined) out.push(`validation days ${meta.validDays}`);
  const sc = meta.schema;
  if (sc) {
    out.push(`schema: fields ${sc.fields?.join(', ')}; sequence length ${sc.seqLen}; ${sc.dense?.length ?? 0} dense features; table rows ${n(sc.tableRows ?? 0)}`);
    if (sc.hash?.length) out.push(`  hash ranges: ${sc.hash.map((h) => `${h.name} ${n(h.size)}`).join(', ')}`);
  }
  if (meta.badRows && Object.values(meta.badRows).some((v) => v > 0)) {
    out.push(`bad rows: ${Object.entries(meta.badRows).filter(([, v]) => v > 0).map(([k, v]) => `${k} ${n(v)}`).join(', ')}`);
  }
  if (meta.shards) out.push(`shards ${meta.shards.length} (${n(meta.shards.reduce((a, s) => a + s.n, 0))} samples)`);
  return out.join('\n');
}
