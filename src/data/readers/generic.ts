import { CmdcmError } from '../../util/errors.js';
import type { TimeResolution } from '../types.js';
import { DEFAULT_YEAR, type ColumnMapping, type ReadOptions } from './options.js';
import { BehaviorMap, makeIdCols, sideFieldsOf, type RowSpec } from './spec.js';
import { dateTimeResolution } from './bytes.js';

/**
 * A CSV of any layout, read through an explicit column mapping (`--columns`) and behavior-code
 * mapping (`--behaviors`). Columns may be named by header name, which implies a header line;
 * with indices only, the first line is a header when its behavior cell is no known code and its
 * time cell holds no digit.
 */
export function genericSpec(opts: ReadOptions, lines: string[][], file: string): RowSpec {
  const first = lines[0] ?? [];
  const m = opts.columns;
  if (!m) throw new CmdcmError(`${file}: the generic format needs --columns (e.g. user=0,item=1,category=2,behavior=3,time=4)`);
  if (!opts.behaviors) throw new CmdcmError(`${file}: the generic format needs --behaviors (e.g. 0=click,1=cart,2=buy,3=collect)`);
  const byName = Object.values(m).some((v) => typeof v === 'string');
  const names = first.map((s) => s.trim().toLowerCase());
  const col = (role: keyof ColumnMapping): number | undefined => {
    const v = m[role];
    if (v === undefined) return undefined;
    let c: number;
    if (typeof v === 'number') c = v;
    else {
      c = names.indexOf(v.toLowerCase());
      if (c < 0) throw new CmdcmError(`${file}: --columns ${role}=${v}: no such column in the header (${first.join(',')})`);
    }
    if (c >= first.length) throw new CmdcmError(`${file}: --columns ${role}=${c}: the file has only ${first.length} columns (0-based indices)`);
    return c;
  };
  const idCols = makeIdCols({ user: col('user'), item: col('item'), category: col('category'), seller: col('seller'), brand: col('brand'), geohash: col('geohash') });
  const behaviorCol = col('behavior')!;
  const behaviors = new BehaviorMap(opts.behaviors);
  const timeCol = col('time'), monthCol = col('month'), dayCol = col('day');
  const tcell = first[(timeCol ?? monthCol)!] ?? '';
  const header = byName || (!(first[behaviorCol] in opts.behaviors) && !/\d/.test(tcell));
  const timeKind = timeCol !== undefined ? (opts.timeFormat ?? 'datetime') : 'monthday';
  let resolution: TimeResolution = 'day';
  if (timeKind === 'unix') resolution = 'second';
  else if (timeKind === 'datetime') {
    const data = lines[header ? 1 : 0];
    resolution = data && data[(timeCol ?? 0)] !== undefined ? dateTimeResolution(data[timeCol!].trim().length) : 'second';
  }
  return {
    format: 'generic', nCols: first.length, idCols, behaviorCol, behaviors,
    timeKind, timeCol: (timeCol ?? monthCol)!, dayCol: dayCol ?? -1,
    offsetSec: Math.round((opts.utcOffsetHours ?? 0) * 3600), year: opts.year ?? DEFAULT_YEAR,
    headerLines: header ? 1 : 0, resolution, sideFields: sideFieldsOf(idCols),
    describe: `generic (${first.length} columns${header ? ', header' : ''})`,
  };
}
