import { CLICK, COLLECT, CART, BUY, type Behavior } from '../types.js';
import { DEFAULT_YEAR, type ReadOptions } from './options.js';
import { BehaviorMap, makeIdCols, sideFieldsOf, type RowSpec } from './spec.js';
import type { Layout } from './layout.js';

/** Tmall IJCAI-15 user_log: `user_id,item_id,cat_id,seller_id,brand_id,time_stamp,action_type` (mmdd). */
export const TMALL2015_HEADER = ['user_id', 'item_id', 'cat_id', 'seller_id', 'brand_id', 'time_stamp', 'action_type'];
/** The Tmall repeat-buyers data names the seller `merchant_id` in some releases. */
export const TMALL2015_HEADER_ALT = ['user_id', 'item_id', 'cat_id', 'merchant_id', 'brand_id', 'time_stamp', 'action_type'];
export const TMALL2015_BEHAVIORS: Record<string, Behavior> = { 0: CLICK, 1: CART, 2: BUY, 3: COLLECT };

export function looksLikeTmall2015Row(f: string[]): boolean {
  return f.length === 7 && /^\d+$/.test(f[0]) && /^\d+$/.test(f[1]) && /^\d+$/.test(f[2])
    && /^\d{3,4}$/.test(f[5]) && /^[0-3]$/.test(f[6]);
}

export function tmall2015Spec(opts: ReadOptions, layout: Layout): RowSpec {
  const o = layout.indexCol ? 1 : 0;
  const idCols = makeIdCols({ user: o, item: o + 1, category: o + 2, seller: o + 3, brand: o + 4 });
  return {
    format: 'tmall2015', nCols: 7 + o, idCols, behaviorCol: o + 6,
    behaviors: new BehaviorMap(opts.behaviors ?? TMALL2015_BEHAVIORS),
    timeKind: 'mmdd', timeCol: o + 5, dayCol: -1, offsetSec: 0, year: opts.year ?? DEFAULT_YEAR,
    headerLines: layout.header ? 1 : 0, resolution: 'day', sideFields: sideFieldsOf(idCols),
    describe: 'tmall2015' + (layout.indexCol ? ' (leading index column)' : '') + (layout.header ? '' : ' (no header)'),
  };
}
