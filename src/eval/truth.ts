import { readFileSync } from 'node:fs';
import { CmdcmError } from '../util/errors.js';
import { pearson } from './metrics.js';

/**
 * The generator's ground-truth CSV (`cmdcm generate`): header with at least
 * user_id,item_id,time,p_transition (and usually p_direct,p_atc,p_delayed and realized labels),
 * one row per target pre-window click. Joined to predictions on (user_id, item_id, time) as strings;
 * several clicks with the same key pair up in file order.
 */
export interface TruthTable {
  path: string;
  columns: string[];
  /** key → values of the rows with that key, in file order */
  rows: Map<string, number[][]>;
  n: number;
}

const key = (u: string, i: string, t: string) => `${u}\x1f${i}\x1f${t}`;

function splitCsvLine(line: string): string[] {
  if (!line.includes('"')) return line.split(',');
  const out: string[] = [];
  let cur = '', q = false;
  for (let k = 0; k < line.length; k++) {
    const c = line[k];
    if (q) {
      if (c === '"' && line[k + 1] === '"') { cur += '"'; k++; }
      else if (c === '"') q = false;
      else cur += c;
    } else if (c === '"') q = true;
    else if (c === ',') { out.push(cur); cur = ''; }
    else cur += c;
  }
  out.push(cur);
  return out;
}

export function readTruth(path: string): TruthTable {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new CmdcmError(`--truth: cannot read ${path} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  const lines = text.split(/\r?\n/);
  const header = splitCsvLine(lines[0] ?? '').map((s) => s.trim());
  for (const need of ['user_id', 'item_id', 'time', 'p_transition']) {
    if (!header.includes(need)) throw new CmdcmError(`${path}:1: truth file has no '${need}' column (header: ${header.join(',')})`);
  }
  const iu = header.indexOf('user_id'), ii = header.indexOf('item_id'), it = header.indexOf('time');
  const rows = new Map<string, number[][]>();
  let n = 0;
  for (let ln = 1; ln < lines.length; ln++) {
    if (lines[ln] === '') continue;
    const cells = splitCsvLine(lines[ln]);
    if (cells.length !== header.length) throw new CmdcmError(`${path}:${ln + 1}: ${cells.length} columns, the header has ${header.length}`);
    const vals = cells.map((c) => Number(c));
    const k = key(cells[iu], cells[ii], cells[it]);
    let a = rows.get(k);
    if (!a) rows.set(k, (a = []));
    a.push(vals);
    n++;
  }
  return { path, columns: header, rows, n };
}

/**
 * Pearson correlation between predictions and one truth column over the joined rows. `matched`
 * says how many predictions found their truth row.
 */
export function truthCorrelation(truth: TruthTable, column: string, ids: { user: string[]; item: string[]; time: string[] }, pred: ArrayLike<number>): { r: number | null; matched: number } {
  const t = truthColumns(truth, ids, [column]).cols[column];
  const x: number[] = [], y: number[] = [];
  for (let i = 0; i < t.length; i++) {
    if (!Number.isFinite(t[i])) continue;
    x.push(pred[i]);
    y.push(t[i]);
  }
  return { r: pearson(x, y), matched: x.length };
}

/**
 * The truth columns of each sample, joined on (user, item, time) as truthCorrelation joins: NaN
 * where a sample has no truth row. Used for the oracle row of `compare`.
 */
export function truthColumns(truth: TruthTable, ids: { user: string[]; item: string[]; time: string[] }, columns: readonly string[]): { cols: Record<string, Float64Array>; matched: number } {
  const at = columns.map((c) => {
    const i = truth.columns.indexOf(c);
    if (i < 0) throw new CmdcmError(`${truth.path}: no '${c}' column`);
    return i;
  });
  const n = ids.user.length;
  const cols: Record<string, Float64Array> = Object.fromEntries(columns.map((c) => [c, new Float64Array(n).fill(NaN)]));
  const used = new Map<string, number>();
  let matched = 0;
  for (let i = 0; i < n; i++) {
    const k = key(ids.user[i], ids.item[i], ids.time[i]);
    const a = truth.rows.get(k);
    if (!a) continue;
    const u = used.get(k) ?? 0;
    const row = a[Math.min(u, a.length - 1)];
    used.set(k, u + 1);
    columns.forEach((c, j) => { cols[c][i] = row[at[j]]; });
    matched++;
  }
  return { cols, matched };
}
