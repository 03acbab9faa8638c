import { CLICK, COLLECT, CART, BUY, type Behavior } from '../types.js';
import type { ReadOptions } from './options.js';
import { BehaviorMap, makeIdCols, sideFieldsOf, type RowSpec } from './spec.js';
import type { Layout } from './layout.js';

/** Taobao UserBehavior 2017: no header, `user_id,item_id,category_id,behavior,timestamp` (unix s). */
export const TAOBAO2017_HEADER = ['user_id', 'item_id', 'category_id', 'behavior', 'timestamp'];
export const TAOBAO2017_BEHAVIORS: Record<string, Behavior> = { pv: CLICK, fav: COLLECT, cart: CART, buy: BUY };
/** The log's timestamps are UTC; its days are Beijing days (UTC+8), the clock promotions run on. */
export const BEIJING_OFFSET_SEC = 8 * 3600;

export function looksLikeTaobao2017Row(f: string[]): boolean {
  return f.length === 5 && /^\d+$/.test(f[0]) && /^\d+$/.test(f[1]) && /^\d+$/.test(f[2])
    && f[3] in TAOBAO2017_BEHAVIORS && /^\d{9,10}$/.test(f[4]);
}

export function taobao2017Spec(opts: ReadOptions, layout: Layout): RowSpec {
  const o = layout.indexCol ? 1 : 0;
  const idCols = makeIdCols({ user: o, item: o + 1, category: o + 2 });
  return {
    format: 'taobao2017', nCols: 5 + o, idCols, behaviorCol: o + 3,
    behaviors: new BehaviorMap(opts.behaviors ?? TAOBAO2017_BEHAVIORS),
    timeKind: 'unix', timeCol: o + 4, dayCol: -1, offsetSec: BEIJING_OFFSET_SEC, year: 0,
    headerLines: layout.header ? 1 : 0, resolution: 'second', sideFields: sideFieldsOf(idCols),
    describe: 'taobao2017' + (layout.indexCol ? ' (leading index column)' : '') + (layout.header ? ' (with header)' : ''),
  };
}
