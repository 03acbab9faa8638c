import { createWriteStream, type WriteStream } from 'node:fs';
import { once } from 'node:events';
import { CmdcmError } from '../util/errors.js';
import { writeFileAtomic, tempPathFor } from '../util/atomic.js';
import { promises as fsp } from 'node:fs';
import { BUY, CART, CLICK, COLLECT, SECONDS_PER_DAY, SECONDS_PER_HOUR } from './types.js';
import { dayOfDate, dateOfDay, sidecarPathFor, type PromoSidecar } from './calendar.js';
import { GeneratorRng as Rng } from '../util/rng.js';

/**
 * Synthetic pre-promotion logs in the Tianchi mobile 2014 format, with ground truth.
 *
 * The log ends on the target promotion's day (2014-12-12, Double 12) and runs back `days` days;
 * every promotion of 2014-06-18 (618) and 2014-11-11 (Double 11) whose pre-window fits becomes a
 * historical promotion. All pre-windows are PRE_DAYS long.
 *
 * Latent structure (never written to the log):
 *  - user: activity (clicks/day), deal-waiting propensity w in (0,1), buying propensity b;
 *  - item: category, popularity, quality q, price sensitivity s in (0,1) (how much it is discounted
 *    on promotion days).
 * w is the confounder: it raises carting in pre-windows AND the promotion-day purchase of carted
 * items AND suppresses buying before the promotion. Carted clicks are therefore a selected
 * population (higher w) whose delayed rate overstates the interventional P(delayed | click, do(atc))
 * of an average click. w is partly visible through a user's history: deal-waiters cart more in
 * earlier pre-windows and buy those items on the earlier promotion day.
 *
 * Per click in a pre-window of promotion P (sig = logistic; K = `confounding`, default 1):
 *   p_atc  = sig(-3.9 + 0.5q + K(1.6w + 0.8ws) + 0.3b)      a cart of the item, after the click
 *   p_dir  = sig(-4.3 + 0.5q + 0.7b - 2.0Kws)               a buy before P's day
 *   p_t    = sig(-4.9 + 2.4Kw + 1.2s + 0.4q)                a P-day buy given a cart
 *   p_t0   = sig(-8.0 + 2.0Kw + 1.0s)                       a P-day buy without a cart
 * and the outcome is drawn as: direct ~ p_dir; atc ~ p_atc; unless direct, delayed ~ (atc ? p_t : p_t0).
 * Ground truth for the target pre-window's clicks:
 *   p_transition = P(delayed | click, do(atc)) = (1 - p_dir) p_t
 *   p_delayed    = (1 - p_dir) (p_atc p_t + (1 - p_atc) p_t0)
 * Its realized labels follow the log semantics exactly (any later cart/buy of the item by the user,
 * the click's own hour included), computed here by brute force: an independent oracle for prepare.
 */

export interface GenerateOptions {
  out: string;
  truth?: string;
  seed?: number;
  users?: number;
  items?: number;
  days?: number;
  /**
   * Strength of the deal-waiting confounding (default 1): multiplies every effect of the user's
   * deal-waiting propensity w on carting, buying early and buying on the promotion day. 0 removes
   * the confounder (carted clicks are then no selected population); 2 doubles it.
   */
  confounding?: number;
  /** aborts between blocks of users: the temp files are removed and nothing is written */
  signal?: AbortSignal;
}

export interface GenerateResult {
  out: string;
  truth?: string;
  sidecar: string;
  rows: number;
  users: number;
  items: number;
  firstDate: string;
  lastDate: string;
  perBehavior: Record<'click' | 'collect' | 'cart' | 'buy', number>;
  promotions: { date: string; preDays: number }[];
  target: string;
  truthRows: number;
}

export const GENERATE_DEFAULTS = { seed: 1, users: 3000, items: 2000, days: 42, confounding: 1 };
export const PRE_DAYS = 10;
const TARGET_DATE = '2014-12-12';
const HISTORICAL_DATES = ['2014-06-18', '2014-11-11'];

/** The generator's random stream (src/util/rng.ts); re-exported for the tests' fixtures. */
export { Rng };

const sig = (x: number) => 1 / (1 + Math.exp(-x));

/** Cumulative weights -> index by binary search. */
function pick(cum: Float64Array, lo: number, hi: number, r: number): number {
  const base = lo === 0 ? 0 : cum[lo - 1];
  const x = base + r * (cum[hi - 1] - base);
  let a = lo, b = hi - 1;
  while (a < b) {
    const m = (a + b) >>> 1;
    if (cum[m] <= x) a = m + 1; else b = m;
  }
  return a;
}

// Hourly traffic (Taobao-like: quiet at night, peaks late morning, afternoon and evening).
const HOURS = [3, 1.5, 1, .6, .5, .6, 1.2, 2.2, 3.2, 4.2, 4.8, 4.6, 4.3, 4.4, 4.6, 4.7, 4.5, 4.3, 4.2, 4.8, 5.6, 6.4, 6.5, 5];
// On the promotion day buying starts at midnight.
const PROMO_HOURS = [14, 8, 4, 2, 1, 1, 1.5, 2, 3, 4, 5, 5, 5, 4.5, 4.5, 4.5, 4.5, 4.5, 4.5, 5, 5.5, 6, 6, 5.5];
const cumOf = (w: number[]) => { const c = new Float64Array(w.length); let s = 0; w.forEach((x, i) => { s += x; c[i] = s; }); return c; };
const HOUR_CUM = cumOf(HOURS), PROMO_HOUR_CUM = cumOf(PROMO_HOURS);

const GEO_CHARS = '0123456789bcdefghjkmnpqrstuvwxyz';

interface Ev { t: number; item: number; b: number; geo: string }

/** Generate the log (and optionally the ground truth) and the promotions sidecar. Deterministic by seed. */
export async function generate(opts: GenerateOptions): Promise<GenerateResult> {
  const seed = opts.seed ?? GENERATE_DEFAULTS.seed;
  const nUsers = opts.users ?? GENERATE_DEFAULTS.users;
  const nItems = opts.items ?? GENERATE_DEFAULTS.items;
  const days = opts.days ?? GENERATE_DEFAULTS.days;
  const K = opts.confounding ?? GENERATE_DEFAULTS.confounding;
  if (!(Number.isFinite(K) && K >= 0 && K <= 10)) throw new CmdcmError(`--confounding: must be a number in [0, 10], got ${K}`, { exitCode: 2 });
  for (const [flag, v, min, max] of [['users', nUsers, 1, 1e8], ['items', nItems, 1, 1e8], ['days', days, 2 * PRE_DAYS + 2, 3650], ['seed', seed, 0, 2 ** 32 - 1]] as const) {
    if (!Number.isInteger(v) || v < min || v > max) throw new CmdcmError(`--${flag}: must be an integer in [${min}, ${max}], got ${v}`, { exitCode: 2 });
  }
  const targetDay = dayOfDate(TARGET_DATE)!;
  const firstDay = targetDay - days + 1;
  const hist = HISTORICAL_DATES.map((d) => dayOfDate(d)!).filter((d) => d - PRE_DAYS >= firstDay);
  if (hist.length === 0) {
    throw new CmdcmError(`--days: ${days} days ending ${TARGET_DATE} hold no historical promotion with its ${PRE_DAYS}-day pre-window; use --days ${targetDay - dayOfDate('2014-11-11')! + PRE_DAYS + 1} or more`, { exitCode: 2 });
  }
  const promoDays = [...hist, targetDay];
  // window index of each day: promotion k's pre-window, or -1
  const winOfDay = new Int32Array(days).fill(-1);
  const isPromoDay = new Uint8Array(days);
  promoDays.forEach((pd, k) => {
    for (let d = pd - PRE_DAYS; d < pd; d++) if (d >= firstDay) winOfDay[d - firstDay] = k;
    isPromoDay[pd - firstDay] = 1;
  });

  const rng = new Rng(seed);
  // items: categories of Zipf-like sizes, items sorted by category for per-category sampling
  const nCats = Math.max(3, Math.round(nItems / 25));
  const catW = Array.from({ length: nCats }, (_, c) => 1 / Math.pow(c + 1, 0.7));
  const catCum = cumOf(catW);
  const itemCat = new Int32Array(nItems);
  for (let i = 0; i < nItems; i++) itemCat[i] = i < nCats ? i : pick(catCum, 0, nCats, rng.next());
  itemCat.sort();
  const catStart = new Int32Array(nCats + 1);
  for (let i = 0; i < nItems; i++) catStart[itemCat[i] + 1]++;
  for (let c = 0; c < nCats; c++) catStart[c + 1] += catStart[c];
  const q = new Float64Array(nItems), s = new Float64Array(nItems), popCum = new Float64Array(nItems);
  let acc = 0;
  for (let i = 0; i < nItems; i++) {
    q[i] = rng.normal();
    s[i] = sig(1.2 * rng.normal());
    acc += Math.exp(0.9 * rng.normal() + 0.3 * q[i]);
    popCum[i] = acc;
  }
  // category popularity for users' favorites = its items' total popularity
  const catPopCum = new Float64Array(nCats);
  for (let c = 0; c < nCats; c++) catPopCum[c] = catStart[c + 1] > 0 ? popCum[catStart[c + 1] - 1] : (c > 0 ? catPopCum[c - 1] : 0);
  const itemIds = uniqueIds(rng, nItems, 100000000, 400000000);
  const userIds = uniqueIds(rng, nUsers, 10000000, 150000000);
  const catIds = uniqueIds(rng, nCats, 1000, 14000);
  const dayStr = Array.from({ length: days + 2 }, (_, d) => dateOfDay(firstDay + d));
  const hourStr = Array.from({ length: 24 }, (_, h) => String(h).padStart(2, '0'));

  const perBehavior = { click: 0, collect: 0, cart: 0, buy: 0 };
  const endT = (targetDay + 1) * SECONDS_PER_DAY; // exclusive
  const startT = firstDay * SECONDS_PER_DAY;

  const tmpOut = tempPathFor(opts.out);
  const tmpTruth = opts.truth ? tempPathFor(opts.truth) : undefined;
  const out = createWriteStream(tmpOut);
  const truth = tmpTruth ? createWriteStream(tmpTruth) : undefined;
  let rows = 0, truthRows = 0;
  try {
    await write(out, 'user_id,item_id,behavior_type,user_geohash,item_category,time\n');
    if (truth) await write(truth, 'user_id,item_id,time,p_direct,p_atc,p_transition,p_delayed,direct,atc,delayed\n');
    const BLOCK = 256;
    for (let u0 = 0; u0 < nUsers; u0 += BLOCK) {
      if (opts.signal?.aborted) throw new CmdcmError(`generate: aborted; ${opts.out} is unchanged`);
      const block: { u: number; ev: Ev }[] = [];
      let truthText = '';
      for (let u = u0; u < Math.min(nUsers, u0 + BLOCK); u++) {
        const evs: Ev[] = [];
        const tRows = genUser(u, evs);
        for (const ev of evs) block.push({ u, ev });
        if (truth) {
          truthText += truthFor(u, evs, tRows);
        }
      }
      // within a block, rows in time order: users interleave as in the public file
      block.sort((x, y) => x.ev.t - y.ev.t || x.u - y.u);
      let text = '';
      for (const { u, ev } of block) {
        const d = Math.floor(ev.t / SECONDS_PER_DAY) - firstDay;
        const h = Math.floor((ev.t % SECONDS_PER_DAY) / SECONDS_PER_HOUR);
        text += `${userIds[u]},${itemIds[ev.item]},${ev.b + 1},${ev.geo},${catIds[itemCat[ev.item]]},${dayStr[d]} ${hourStr[h]}\n`;
        perBehavior[(['click', 'collect', 'cart', 'buy'] as const)[ev.b]]++;
      }
      rows += block.length;
      await write(out, text);
      if (truth && truthText) await write(truth, truthText);
    }
    await close(out);
    if (truth) await close(truth);
    await fsp.rename(tmpOut, opts.out);
    if (truth && tmpTruth) await fsp.rename(tmpTruth, opts.truth!);
  } catch (e) {
    out.destroy();
    truth?.destroy();
    await fsp.rm(tmpOut, { force: true });
    if (tmpTruth) await fsp.rm(tmpTruth, { force: true });
    throw e;
  }
  const promotions = promoDays.map((d) => ({ date: dateOfDay(d), preDays: PRE_DAYS }));
  const sidecar: PromoSidecar = { promotions, target: TARGET_DATE };
  const sidecarPath = sidecarPathFor(opts.out);
  await writeFileAtomic(sidecarPath, JSON.stringify(sidecar, null, 2) + '\n');
  return {
    out: opts.out, truth: opts.truth, sidecar: sidecarPath, rows, users: nUsers, items: nItems,
    firstDate: dateOfDay(firstDay), lastDate: TARGET_DATE, perBehavior, promotions, target: TARGET_DATE, truthRows,
  };

  /** Target pre-window truth rows of user u; its events must be complete. */
  function truthFor(u: number, evs: Ev[], tRows: TruthRow[]): string {
    if (tRows.length === 0) return '';
    const pre = (targetDay) * SECONDS_PER_DAY;
    let text = '';
    for (const r of tRows) {
      const hour = Math.floor(r.t / SECONDS_PER_HOUR);
      let atc = 0, direct = 0, delayed = 0;
      for (const e of evs) {
        if (e.item !== r.item) continue;
        if (Math.floor(e.t / SECONDS_PER_HOUR) < hour) continue;
        if (e.t < pre) {
          if (e.b === CART) atc = 1;
          if (e.b === BUY) direct = 1;
        } else if (e.t < pre + SECONDS_PER_DAY && e.b === BUY) delayed = 1;
      }
      if (direct) delayed = 0;
      const d = Math.floor(r.t / SECONDS_PER_DAY) - firstDay;
      const h = Math.floor((r.t % SECONDS_PER_DAY) / SECONDS_PER_HOUR);
      text += `${userIds[u]},${itemIds[r.item]},${dayStr[d]} ${hourStr[h]},${f6(r.pDir)},${f6(r.pAtc)},${f6(r.pTrans)},${f6(r.pDel)},${direct},${atc},${delayed}\n`;
      truthRows++;
    }
    return text;
  }

  function genUser(u: number, evs: Ev[]): TruthRow[] {
    const act = Math.exp(Math.log(2.2) + 0.6 * rng.normal());
    const w = sig(1.4 * rng.normal() - 0.3);
    const b = 0.5 * rng.normal();
    const geo = rng.next() < 0.35 ? Array.from({ length: 7 }, () => GEO_CHARS[rng.int(32)]).join('') : '';
    const favs = [0, 1, 2].map(() => pick(catPopCum, 0, nCats, rng.next()));
    const recent: number[] = [];
    const tRows: TruthRow[] = [];
    const geoOf = () => (geo && rng.next() < 0.6 ? geo : '');
    const add = (t: number, item: number, beh: number) => {
      if (t < endT && t >= startT) evs.push({ t, item, b: beh, geo: geoOf() });
    };
    for (let d = 0; d < days; d++) {
      const day = firstDay + d;
      const win = winOfDay[d];
      const promo = isPromoDay[d] === 1;
      const factor = promo ? 2.2 : win >= 0 ? 1.3 : 1;
      const nClicks = rng.poisson(act * factor);
      for (let c = 0; c < nClicks; c++) {
        let item: number;
        if (recent.length > 0 && rng.next() < 0.3) item = recent[rng.int(recent.length)];
        else {
          const cat = rng.next() < 0.7 ? favs[rng.int(3)] : pick(catPopCum, 0, nCats, rng.next());
          item = catStart[cat + 1] > catStart[cat] ? pick(popCum, catStart[cat], catStart[cat + 1], rng.next()) : pick(popCum, 0, nItems, rng.next());
        }
        recent.push(item);
        if (recent.length > 20) recent.shift();
        const hour = pick(promo ? PROMO_HOUR_CUM : HOUR_CUM, 0, 24, rng.next());
        const t = day * SECONDS_PER_DAY + hour * SECONDS_PER_HOUR;
        add(t, item, CLICK);
        if (rng.next() < 0.02 + 0.02 * w) add(t + (rng.next() < 0.5 ? 0 : Math.round(rng.exp(6)) * SECONDS_PER_HOUR), item, COLLECT);
        const qi = q[item], si = s[item];
        if (win >= 0) {
          const pdDay = promoDays[win];
          const lastHour = pdDay * SECONDS_PER_DAY - SECONDS_PER_HOUR;
          const later = (meanHours: number) => Math.min(lastHour, t + (rng.next() < 0.55 ? 0 : Math.ceil(rng.exp(meanHours))) * SECONDS_PER_HOUR);
          const pAtc = sig(-3.9 + 0.5 * qi + K * (1.6 * w + 0.8 * w * si) + 0.3 * b);
          const pDir = sig(-4.3 + 0.5 * qi + 0.7 * b - K * 2.0 * w * si);
          const pT = sig(-4.9 + K * 2.4 * w + 1.2 * si + 0.4 * qi);
          const pT0 = sig(-8.0 + K * 2.0 * w + 1.0 * si);
          const direct = rng.next() < pDir;
          const atc = rng.next() < pAtc;
          let tc = t;
          if (atc) { tc = later(14); add(tc, item, CART); }
          if (direct) add(Math.max(tc, later(18)), item, BUY);
          else if (rng.next() < (atc ? pT : pT0)) {
            const h = pick(PROMO_HOUR_CUM, 0, 24, rng.next());
            add(pdDay * SECONDS_PER_DAY + h * SECONDS_PER_HOUR, item, BUY);
          }
          if (pdDay === targetDay) {
            tRows.push({ t, item, pDir, pAtc, pTrans: (1 - pDir) * pT, pDel: (1 - pDir) * (pAtc * pT + (1 - pAtc) * pT0) });
          }
        } else {
          const pAtc = sig(-4.0 + 0.5 * qi + 0.3 * b + K * 0.4 * w);
          const pBuy = promo ? sig(-4.6 + 0.5 * qi + 0.7 * b + K * 1.5 * w * si) : sig(-4.5 + 0.5 * qi + 0.7 * b);
          let tc = t;
          const later = (meanHours: number) => t + (rng.next() < 0.5 ? 0 : Math.ceil(rng.exp(meanHours))) * SECONDS_PER_HOUR;
          if (rng.next() < pAtc) { tc = promo ? t : later(10); add(tc, item, CART); }
          if (rng.next() < pBuy) add(promo ? t + Math.floor(rng.next() * 2) * SECONDS_PER_HOUR : Math.max(tc, later(10)), item, BUY);
        }
      }
    }
    return tRows;
  }
}

interface TruthRow { t: number; item: number; pDir: number; pAtc: number; pTrans: number; pDel: number }

function f6(x: number): string { return x.toFixed(6); }

function uniqueIds(rng: Rng, n: number, lo: number, hi: number): string[] {
  const seen = new Set<number>();
  const out: string[] = [];
  const span = Math.max(hi - lo, n * 4);
  while (out.length < n) {
    const v = lo + rng.int(span);
    if (seen.has(v)) continue;
    seen.add(v);
    out.push(String(v));
  }
  return out;
}

async function write(ws: WriteStream, text: string): Promise<void> {
  if (!ws.write(text)) await once(ws, 'drain');
}

async function close(ws: WriteStream): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    ws.on('error', reject);
    ws.end(() => resolve());
  });
}

// re-exported for the CLI's printing of the promotions
export { sidecarPathFor };
