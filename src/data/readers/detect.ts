import { printable } from '../../util/printable.js';
import { CmdcmError } from '../../util/errors.js';
import type { LogFormat } from '../types.js';
import type { ReadOptions } from './options.js';
import type { RowSpec } from './spec.js';
import type { Layout } from './layout.js';
import { genericSpec } from './generic.js';
import { TIANCHI2014_HEADER, looksLikeTianchi2014Row, tianchi2014Spec } from './tianchi2014.js';
import { TAOBAO2017_HEADER, looksLikeTaobao2017Row, taobao2017Spec } from './taobao2017.js';
import { TMALL2015_HEADER, TMALL2015_HEADER_ALT, looksLikeTmall2015Row, tmall2015Spec } from './tmall2015.js';

/**
 * Format detection from the first lines of a file (header names, or the shape of headerless rows),
 * and the resolution of an explicit `--format` into a concrete layout (header? pandas index column?).
 * Auto-detection refuses anything it is not sure about: a misread log silently poisons a dataset,
 * a refusal costs the user one flag.
 */

/** How many leading lines detection looks at. */
export const DETECT_LINES = 20;

const TIANCHI2014_ITEM_HEADER = ['item_id', 'item_geohash', 'item_category'];

type Known = Exclude<LogFormat, 'generic'>;
const SPECS: Record<Known, (o: ReadOptions, l: Layout) => RowSpec> = {
  tianchi2014: tianchi2014Spec, taobao2017: taobao2017Spec, tmall2015: tmall2015Spec,
};
const HEADERS: [Known, string[]][] = [
  ['tianchi2014', TIANCHI2014_HEADER], ['taobao2017', TAOBAO2017_HEADER],
  ['tmall2015', TMALL2015_HEADER], ['tmall2015', TMALL2015_HEADER_ALT],
];
const ROW_SHAPES: [Known, (f: string[]) => boolean][] = [
  ['tianchi2014', looksLikeTianchi2014Row], ['taobao2017', looksLikeTaobao2017Row], ['tmall2015', looksLikeTmall2015Row],
];

const GENERIC_HINT = 'read it with --format generic --columns user=N,item=N,category=N,behavior=N,time=N (or month=N,day=N) --behaviors CODE=click,CODE=cart,CODE=buy,CODE=collect';

/** A pandas re-save writes the row index as an unnamed first column. */
function isIndexName(s: string): boolean {
  return s === '' || /^unnamed: ?0$/.test(s) || s === 'index';
}

function eq(a: string[], b: string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

function isHeaderLine(f: string[]): boolean {
  // data rows of every format start with numeric ids; a header has a name somewhere
  return f.some((x) => /[a-z_]/i.test(x)) && !ROW_SHAPES.some(([, ok]) => ok(f) || ok(f.slice(1)));
}

function shapeOf(rows: string[][]): { format: Known; indexCol: boolean } | undefined {
  if (rows.length === 0) return undefined;
  // one dirty row among the first lines must not hide an otherwise clear format
  const need = rows.length - Math.floor(rows.length / 10);
  const count = (p: (r: string[]) => boolean) => rows.reduce((n, r) => n + (p(r) ? 1 : 0), 0);
  for (const [format, ok] of ROW_SHAPES) {
    if (count(ok) >= need) return { format, indexCol: false };
    if (count((r) => /^\d+$/.test(r[0]) && ok(r.slice(1))) >= need) return { format, indexCol: true };
  }
  return undefined;
}

/** The XMU-dblab re-format of Tmall's user_log: 11 columns with month and day split out. */
function looksLikeDblabTmall(rows: string[][]): boolean {
  return rows.length > 0 && rows.every((f) => f.length === 11 && /^\d+$/.test(f[0]) && /^\d{1,2}$/.test(f[5])
    && /^\d{1,2}$/.test(f[6]) && /^[0-3]$/.test(f[7]));
}

function preview(f: string[]): string {
  const s = printable(f.join(','));
  return s.length > 80 ? s.slice(0, 77) + '...' : s;
}

/** The row layout of `file` from its first lines (already split on commas, CR stripped). */
export function resolveSpec(file: string, lines: string[][], opts: ReadOptions): RowSpec {
  let fmt = opts.format ?? 'auto';
  if (fmt === 'auto' && opts.columns) fmt = 'generic';
  if (lines.length === 0) throw new CmdcmError(`${file}: no data lines (file is blank)`);
  if (fmt === 'generic') return genericSpec(opts, lines, file);

  const first = lines[0].map((s) => s.trim().toLowerCase());
  const header = isHeaderLine(first);
  const names = header && isIndexName(first[0]) ? first.slice(1) : first;
  const headerIndexCol = header && names !== first;
  const dataRows = header ? lines.slice(1) : lines;

  if (fmt !== 'auto') {
    const shape = shapeOf(dataRows.filter((r) => r.length > 1));
    const indexCol = header ? headerIndexCol : shape?.format === fmt ? shape.indexCol : false;
    return SPECS[fmt](opts, { header, indexCol });
  }

  if (header) {
    if (eq(names, TIANCHI2014_ITEM_HEADER)) {
      throw new CmdcmError(`${file}: this is the Tianchi 2014 item table (${names.join(',')}), not a behavior log; pass the user behavior file (user_id,item_id,behavior_type,user_geohash,item_category,time)`);
    }
    for (const [format, h] of HEADERS) {
      if (eq(names, h)) return SPECS[format](opts, { header: true, indexCol: headerIndexCol });
    }
    throw new CmdcmError(`${file}: unrecognized log format: header '${preview(lines[0])}' matches none of tianchi2014 (${TIANCHI2014_HEADER.join(',')}), tmall2015 (${TMALL2015_HEADER.join(',')}), taobao2017; ${GENERIC_HINT}`);
  }
  const shape = shapeOf(dataRows);
  if (shape) return SPECS[shape.format](opts, { header: false, indexCol: shape.indexCol });
  const cols = lines[0].length;
  if (looksLikeDblabTmall(dataRows)) {
    throw new CmdcmError(`${file}: unrecognized log format: no header, 11 columns (first line: ${preview(lines[0])}); it looks like the XMU-dblab re-format of Tmall IJCAI-15 (month and day in separate columns), which auto-detection does not guess: read it with --format generic --columns user=0,item=1,category=2,seller=3,brand=4,month=5,day=6,behavior=7 --behaviors 0=click,1=cart,2=buy,3=collect [--year 2015]`);
  }
  throw new CmdcmError(`${file}: unrecognized log format: no header, ${cols} columns (first line: ${preview(lines[0])}); expected tianchi2014 (6 columns), taobao2017 (5 columns, pv/fav/cart/buy, unix seconds) or tmall2015 (7 columns); ${GENERIC_HINT}`);
}
