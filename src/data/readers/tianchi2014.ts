import { CLICK, COLLECT, CART, BUY, type Behavior } from '../types.js';
import type { ReadOptions } from './options.js';
import { BehaviorMap, makeIdCols, sideFieldsOf, type RowSpec } from './spec.js';
import type { Layout } from './layout.js';

/** Tianchi mobile recommendation 2014: `user_id,item_id,behavior_type,user_geohash,item_category,time`. */
export const TIANCHI2014_HEADER = ['user_id', 'item_id', 'behavior_type', 'user_geohash', 'item_category', 'time'];
export const TIANCHI2014_BEHAVIORS: Record<string, Behavior> = { 1: CLICK, 2: COLLECT, 3: CART, 4: BUY };

const DATETIME_HOUR = /^\d{4}-\d{2}-\d{2} \d{2}$/;

/** A headerless data row of this format (fields already split). */
export function looksLikeTianchi2014Row(f: string[]): boolean {
  return f.length === 6 && /^\d+$/.test(f[0]) && /^\d+$/.test(f[1]) && /^[1-4]$/.test(f[2]) && DATETIME_HOUR.test(f[5]);
}

export function tianchi2014Spec(opts: ReadOptions, layout: Layout): RowSpec {
  const o = layout.indexCol ? 1 : 0;
  const idCols = makeIdCols({ user: o, item: o + 1, geohash: o + 3, category: o + 4 });
  return {
    format: 'tianchi2014', nCols: 6 + o, idCols, behaviorCol: o + 2,
    behaviors: new BehaviorMap(opts.behaviors ?? TIANCHI2014_BEHAVIORS),
    timeKind: 'datetime', timeCol: o + 5, dayCol: -1, offsetSec: 0, year: 0,
    headerLines: layout.header ? 1 : 0, resolution: 'hour', sideFields: sideFieldsOf(idCols),
    describe: 'tianchi2014' + (layout.indexCol ? ' (leading index column)' : '') + (layout.header ? '' : ' (no header)'),
  };
}
