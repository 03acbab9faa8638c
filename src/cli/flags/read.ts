import type { FlagSpec } from '../args.js';
import { flagError } from '../../util/errors.js';
import { DEFAULT_MAX_BAD_ROWS, DEFAULT_YEAR, parseBehaviorsSpec, parseColumnsSpec, parseMaxBadRows, type ReadOptions } from '../../data/readers/options.js';

/**
 * The reader flags shared by every command that reads behavior logs (`inspect`, `prepare`): the
 * same table, parsed in one place so both commands accept exactly the same spelling.
 */

/** The reader flags, for `parseFlags` tables of commands that read logs. */
export const READ_FLAGS = {
  format: { type: 'string', default: 'auto', help: 'log format: auto, tianchi2014, taobao2017, tmall2015, generic' },
  year: { type: 'string', help: `year of mmdd / month-day dates (Tmall IJCAI-15, default ${DEFAULT_YEAR})` },
  columns: { type: 'string', help: 'generic CSV columns, 0-based or header names: user=0,item=1,category=2,behavior=3,time=4 (or month=N,day=N instead of time; optional seller, brand, geohash)' },
  behaviors: { type: 'string', help: 'behavior codes: 0=click,1=cart,2=buy,3=collect (names: click|pv, collect|fav, cart, buy)' },
  'time-format': { type: 'string', help: "generic 'time' column: datetime (YYYY-MM-DD[ HH[:MM[:SS]]]), unix (seconds), mmdd (default datetime)" },
  'utc-offset': { type: 'string', help: 'hours added to generic unix times to get local wall clock (default 0)' },
  'max-bad-rows': { type: 'string', help: `abort when bad rows exceed this count, or this fraction of rows if < 1 (default ${DEFAULT_MAX_BAD_ROWS})` },
} satisfies Record<string, FlagSpec>;

const FORMATS: readonly string[] = ['auto', 'tianchi2014', 'taobao2017', 'tmall2015', 'generic'];

/** Flags (as parsed by `parseFlags` with `READ_FLAGS`) → ReadOptions; errors name the flag. */
export function readOptionsFromFlags(values: Record<string, unknown>): ReadOptions {
  const opts: ReadOptions = {};
  const fmt = typeof values.format === 'string' ? values.format : 'auto';
  if (!FORMATS.includes(fmt)) throw flagError('format', `unknown format '${fmt}' (one of ${FORMATS.join(', ')})`);
  opts.format = fmt as ReadOptions['format'];
  if (typeof values.year === 'string') {
    const y = Number(values.year);
    if (!Number.isInteger(y) || y < 1971 || y > 2037) throw flagError('year', `expected a year like 2015, got '${values.year}'`);
    opts.year = y;
  }
  if (typeof values.columns === 'string') {
    opts.columns = parseColumnsSpec(values.columns);
    if (opts.format === 'auto') opts.format = 'generic';
  }
  if (typeof values.behaviors === 'string') opts.behaviors = parseBehaviorsSpec(values.behaviors);
  const tf = values['time-format'];
  if (typeof tf === 'string') {
    if (tf !== 'datetime' && tf !== 'unix' && tf !== 'mmdd') throw flagError('time-format', `expected datetime, unix or mmdd, got '${tf}'`);
    opts.timeFormat = tf;
  }
  const off = values['utc-offset'];
  if (typeof off === 'string') {
    const h = Number(off);
    if (off.trim() === '' || !Number.isFinite(h) || Math.abs(h) > 14) throw flagError('utc-offset', `expected hours between -14 and 14, got '${off}'`);
    opts.utcOffsetHours = h;
  }
  const mb = values['max-bad-rows'];
  if (typeof mb === 'string') opts.maxBadRows = parseMaxBadRows(mb);
  if (opts.format === 'generic') {
    if (!opts.columns) throw flagError('columns', 'the generic format needs --columns (e.g. user=0,item=1,category=2,behavior=3,time=4)');
    if (!opts.behaviors) throw flagError('behaviors', 'the generic format needs --behaviors (e.g. 0=click,1=cart,2=buy,3=collect)');
  }
  return opts;
}
