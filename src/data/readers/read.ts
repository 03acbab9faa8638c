import { noLinesReason } from '../../util/printable.js';
import { CmdcmError } from '../../util/errors.js';
import type { LogFormat, SideField, TimeResolution } from '../types.js';
import { DEFAULT_MAX_BAD_ROWS, type ReadOptions } from './options.js';
import { openLog, type ByteSource } from './gz.js';
import { CsvSplitter } from './csv.js';
import { DETECT_LINES, resolveSpec } from './detect.js';
import { N_ROLES, R_CATEGORY, type RowSpec } from './spec.js';
import { loadAddon, type AddonFunctions } from '../../native.js';
import { mmddTable, parseDateTime, parseMmdd, parseUint, parseUintLoose } from './bytes.js';

export type BadReason = 'columns' | 'behavior' | 'time' | 'id';
export const BAD_REASONS: Record<BadReason, string> = {
  columns: 'wrong column count',
  behavior: 'unknown behavior code',
  time: 'unparsable time',
  id: 'empty id',
};

/** What reading one file found: its format, good and bad rows, and the first bad rows as file:line. */
export interface ReadReport {
  file: string;
  format: LogFormat;
  /** format plus layout quirks, e.g. 'tmall2015 (leading index column)' */
  describe: string;
  resolution: TimeResolution;
  sideFields: SideField[];
  /** good rows (events) */
  rows: number;
  badRows: number;
  bad: Record<BadReason, number>;
  /** the first few bad rows, `file:line: reason (detail)` */
  examples: string[];
  gzip: boolean;
  /** bytes on disk */
  bytes: number;
}

/**
 * Receives good rows in file order. `ids` holds [start, end) byte offsets into `buf` per role
 * (R_USER … R_GEOHASH at 2r, 2r+1); start is -1 where the format lacks the field, and start == end
 * for an empty optional field. `buf` is only valid during the call.
 */
export interface RowSink {
  begin?(spec: RowSpec, file: string): void;
  row(buf: Buffer, ids: Int32Array, behavior: number, time: number): void;
  /**
   * Optional bulk form of `row`, for rows the addon scanned: the same rows in the same order, plus
   * each row's user/item/category `numericId` (intern.ts) already computed.
   */
  rows?(buf: Buffer, batch: RowBatch): void;
  /** after each chunk of rows and at the end of the file (sinks may batch work per chunk) */
  endChunk?(): void;
}

export interface ReadProgress {
  file: string;
  bytesRead: number;
  size: number;
  rows: number;
}

/**
 * Rows scanned by the addon: row k has behavior beh[k], time time[k], the byte range of role r at
 * off[12k + 2r, 12k + 2r + 1] (as `ids` of RowSink.row) and numericId of user/item/category at
 * keys[3k + r] (-1 when the id is not a plain integer).
 */
export interface RowBatch {
  n: number;
  keys: Float64Array;
  off: Int32Array;
  beh: Uint8Array;
  time: Int32Array;
}

const PEEK_BYTES = 256 * 1024;
const BATCH_ROWS = 1 << 14;
const TIME_KIND_CODE: Record<string, number> = { datetime: 0, unix: 1, mmdd: 2 };

type ScanFn = AddonFunctions['scanLogRows'];

/**
 * The addon's row scanner bound to one file's spec, or undefined (no addon, CMDCM_NO_NATIVE=1, or a
 * layout it does not handle). It returns where it stopped after handing its rows to `emit`.
 */
function nativeScanner(spec: RowSpec, mmdd: Float64Array, emit: (buf: Buffer, batch: RowBatch, lines: number) => void):
  ((buf: Buffer, from: number, to: number) => number) | undefined {
  const scan: ScanFn | undefined = loadAddon()?.scanLogRows;
  const kind = TIME_KIND_CODE[spec.timeKind];
  if (!scan || kind === undefined || spec.nCols > 64) return undefined;
  const params = new Int32Array(5 + N_ROLES);
  params.set([spec.nCols, spec.behaviorCol, kind, spec.timeCol, spec.offsetSec]);
  params.set(spec.idCols, 5);
  const { single, keys: behKeys, vals: behVals } = spec.behaviors.shortTables();
  const table = kind === 2 ? mmdd : new Float64Array(0);
  const batch: RowBatch = {
    n: 0, keys: new Float64Array(3 * BATCH_ROWS), off: new Int32Array(12 * BATCH_ROWS), beh: new Uint8Array(BATCH_ROWS), time: new Int32Array(BATCH_ROWS),
  };
  const state = new Int32Array(3);
  return (buf, from, to) => {
    let i = from;
    for (;;) {
      scan(buf, i, to, params, single, behKeys, behVals, table, batch.keys, batch.off, batch.beh, batch.time, state);
      batch.n = state[2];
      if (batch.n > 0) emit(buf, batch, state[1]);
      i = state[0];
      if (batch.n < BATCH_ROWS || i >= to) return i;
    }
  };
}

/** Hands a native batch to a sink without the bulk method, row by row. */
function emitRows(sink: RowSink, buf: Buffer, batch: RowBatch, ids: Int32Array): void {
  const { off, beh, time } = batch;
  for (let k = 0; k < batch.n; k++) {
    for (let j = 0; j < 2 * N_ROLES; j++) ids[j] = off[12 * k + j];
    sink.row(buf, ids, beh[k], time[k]);
  }
}
const INT32_MAX = 2147483647;

/** Streams `file` into `sink`, constant memory in file size; resolves to the file's report. */
export async function readLog(file: string, opts: ReadOptions, sink: RowSink, onProgress?: (p: ReadProgress) => void): Promise<ReadReport> {
  const it = readLogSteps(file, opts, sink, onProgress);
  for (;;) {
    const r = await it.next();
    if (r.done) return r.value;
  }
}

/** Split a peeked head into lines of fields (complete lines only, unless at EOF). */
function headLines(head: Buffer, eof: boolean): string[][] {
  const text = head.toString('utf8');
  const parts = text.split('\n');
  if (!eof) parts.pop();
  const out: string[][] = [];
  for (const p of parts) {
    const line = p.endsWith('\r') ? p.slice(0, -1) : p;
    if (line.length === 0) continue;
    out.push(line.split(','));
    if (out.length >= DETECT_LINES + 1) break;
  }
  return out;
}

/**
 * The reading loop as an async generator that yields after every chunk (so `readEvents` can hand
 * out events chunk by chunk) and returns the report.
 */
export async function* readLogSteps(file: string, opts: ReadOptions, sink: RowSink, onProgress?: (p: ReadProgress) => void): AsyncGenerator<void, ReadReport> {
  const src = await openLog(file);
  const iter = src.chunks[Symbol.asyncIterator]();
  try {
    return yield* readOpened(file, opts, sink, onProgress, src, iter);
  } finally {
    // closes the file (and gunzip) when reading stops early: an abort, or a consumer that breaks off
    await iter.return?.();
  }
}

async function* readOpened(file: string, opts: ReadOptions, sink: RowSink, onProgress: ((p: ReadProgress) => void) | undefined,
  src: ByteSource, iter: AsyncIterator<Buffer>): AsyncGenerator<void, ReadReport> {
  // peek enough lines to detect the format before any row is parsed
  const pending: Buffer[] = [];
  let peeked = 0, eof = false;
  while (peeked < PEEK_BYTES) {
    const r = await iter.next();
    if (r.done) { eof = true; break; }
    pending.push(r.value);
    peeked += r.value.length;
    let nl = 0;
    for (const c of pending) for (let i = c.indexOf(10); i >= 0 && nl <= DETECT_LINES + 1; i = c.indexOf(10, i + 1)) nl++;
    if (nl > DETECT_LINES + 1) break;
  }
  const head = Buffer.concat(pending);
  const lines = headLines(head, eof);
  if (lines.length === 0) throw new CmdcmError(`${file}: ${noLinesReason(head, eof)}`);
  const spec = resolveSpec(file, lines, opts);
  sink.begin?.(spec, file);

  const maxBad = opts.maxBadRows ?? DEFAULT_MAX_BAD_ROWS;
  const maxExamples = opts.badExamples ?? 5;
  const bad: Record<BadReason, number> = { columns: 0, behavior: 0, time: 0, id: 0 };
  const examples: string[] = [];
  let rows = 0, badRows = 0;
  const report = (): ReadReport => ({
    file, format: spec.format, describe: spec.describe, resolution: spec.resolution, sideFields: spec.sideFields,
    rows, badRows, bad: { ...bad }, examples: [...examples], gzip: src.gzip, bytes: src.size,
  });
  const abortMessage = (): string => {
    const total = rows + badRows;
    const what = maxBad >= 1 || maxBad === 0 ? `${maxBad}` : `${maxBad} (${(maxBad * 100).toFixed(2).replace(/\.?0+$/, '')}% of rows)`;
    const per = (Object.keys(bad) as BadReason[]).filter((k) => bad[k] > 0).map((k) => `${BAD_REASONS[k]}: ${bad[k]}`).join(', ');
    return `${file}: ${badRows} bad rows of ${total} read (${(100 * badRows / Math.max(total, 1)).toFixed(1)}%) exceed --max-bad-rows ${what} [${per}]; first: ${examples[0] ?? ''}`
      + (spec.format !== 'generic' ? ` (read as ${spec.describe}; if that is wrong, pass --format or --columns/--behaviors)` : '');
  };
  const countMode = maxBad >= 1 || maxBad === 0;

  const ids = new Int32Array(2 * N_ROLES);
  const { nCols, idCols, behaviorCol, behaviors, timeKind, timeCol, dayCol, offsetSec, headerLines } = spec;
  const table = timeKind === 'mmdd' || timeKind === 'monthday' ? mmddTable(spec.year) : new Float64Array(0);

  const badRow = (reason: BadReason, line: number, detail: string) => {
    bad[reason]++;
    badRows++;
    if (examples.length < maxExamples) examples.push(`${file}:${line}: ${BAD_REASONS[reason]} (${detail})`);
    if (countMode && badRows > maxBad) throw new CmdcmError(abortMessage());
  };

  const splitter: CsvSplitter = new CsvSplitter((buf, nf, line) => {
    if (line <= headerLines) return;
    const st = splitter.start, en = splitter.end;
    if (nf !== nCols) return badRow('columns', line, `${nf} columns, expected ${nCols}`);
    const b = behaviors.lookup(buf, st[behaviorCol], en[behaviorCol]);
    if (b < 0) return badRow('behavior', line, `'${buf.toString('utf8', st[behaviorCol], en[behaviorCol])}'`);
    let t: number;
    const ts = st[timeCol], te = en[timeCol];
    switch (timeKind) {
      case 'datetime': t = parseDateTime(buf, ts, te); break;
      case 'unix': t = parseUintLoose(buf, ts, te) + offsetSec; break;
      case 'mmdd': t = parseMmdd(buf, ts, te, table); break;
      default: {
        const mo = parseUint(buf, ts, te), d = parseUint(buf, st[dayCol], en[dayCol]);
        t = mo >= 1 && mo <= 12 && d >= 1 && d <= 31 ? table[mo * 100 + d] : NaN;
      }
    }
    if (!(t >= -INT32_MAX && t <= INT32_MAX)) {
      const raw = buf.toString('utf8', ts, te) + (timeKind === 'monthday' ? '/' + buf.toString('utf8', st[dayCol], en[dayCol]) : '');
      return badRow('time', line, `'${raw}'`);
    }
    for (let r = 0; r < N_ROLES; r++) {
      const c = idCols[r];
      if (c < 0) { ids[2 * r] = -1; ids[2 * r + 1] = -1; continue; }
      const s = st[c], e = en[c];
      if (r <= R_CATEGORY && s === e) return badRow('id', line, `empty ${['user', 'item', 'category'][r]}`);
      ids[2 * r] = s;
      ids[2 * r + 1] = e;
    }
    rows++;
    sink.row(buf, ids, b, t);
  });

  if (process.env.CMDCM_NO_NATIVE_SCAN !== '1' && timeKind !== 'monthday') {
    const rowIds = new Int32Array(2 * N_ROLES);
    const fast = nativeScanner(spec, table, (buf, batch, lines) => {
      splitter.line += lines;
      rows += batch.n;
      if (sink.rows) sink.rows(buf, batch);
      else emitRows(sink, buf, batch, rowIds);
    });
    // the header lines go through the TypeScript path
    if (fast) splitter.fast = (buf, from, to) => (splitter.line < headerLines ? from : fast(buf, from, to));
  }

  const progress = () => onProgress?.({ file, bytesRead: src.bytesRead(), size: src.size, rows });
  const checkFraction = (final: boolean) => {
    const total = rows + badRows;
    if (!countMode && (final || total >= 100_000) && badRows > maxBad * total) throw new CmdcmError(abortMessage());
  };
  for (const c of pending) splitter.push(c);
  pending.length = 0;
  sink.endChunk?.();
  progress();
  yield;
  for (;;) {
    const r = await iter.next();
    if (r.done) break;
    splitter.push(r.value);
    sink.endChunk?.();
    checkFraction(false);
    progress();
    yield;
  }
  splitter.flush();
  sink.endChunk?.();
  checkFraction(true);
  progress();
  if (rows === 0 && badRows === 0) throw new CmdcmError(`${file}: no data rows (only a header)`);
  return report();
}
