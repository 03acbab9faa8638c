import { BUY, CART, CLICK, SECONDS_PER_HOUR } from './types.js';

/** Bins of the label-delay histograms: up to 8 weeks hour by hour (the last bin: longer). */
export const DELAY_BINS = 24 * 56 + 1;

/**
 * The labels of one user's clicks in one pre-window (DESIGN.md "Data semantics"), from a walk over
 * the window's time buckets backward: a bucket's carts and buys are registered before its clicks
 * are labelled, so a click sees what follows it (its own bucket included: a cart logged in the
 * click's hour follows the click) up to the promotion day:
 *   direct  = a buy of the item before the promotion day,
 *   atc     = a cart of the item before the promotion day,
 *   delayed = a buy of the item on the promotion day, and not direct.
 * Per-item stamp arrays stand for per-user maps, so nothing is allocated per window.
 *
 * As-of censoring (asof.ts): clicks before `asOf` see only the events before it (the label state
 * is renewed when the walk crosses it) and get no delayed label, so what is logged after asOf
 * cannot reach a training sample.
 */
export class WindowLabeler {
  /** label bits of the window's events, by position x - a: 1 direct, 2 atc, 4 delayed */
  labels = new Uint8Array(1024);
  /**
   * Hours from a click to the first cart (buy) at or after it, for the clicks with an atc (direct)
   * label of the windows labelled with `recordDelays`: asof.ts turns them into label horizons.
   */
  readonly delayHours = { atc: new Array<number>(DELAY_BINS).fill(0), direct: new Array<number>(DELAY_BINS).fill(0) };
  private readonly cartSt: Int32Array;
  private readonly buySt: Int32Array;
  private readonly pBuySt: Int32Array;
  /** time of the first cart / buy at or after the bucket being labelled (valid where the stamp is) */
  private readonly cartT: Int32Array;
  private readonly buyT: Int32Array;
  private gen = 0;
  /** the window's stamp (promotion-day buys) and the label state's (renewed at asOf) */
  private stamp = 0;
  private lst = 0;

  constructor(nItems: number, private readonly resolution: number) {
    this.cartSt = new Int32Array(nItems).fill(-1);
    this.buySt = new Int32Array(nItems).fill(-1);
    this.pBuySt = new Int32Array(nItems).fill(-1);
    this.cartT = new Int32Array(nItems);
    this.buyT = new Int32Array(nItems);
  }

  /**
   * Label the clicks among events [a, b) (one user's pre-window, time-sorted) whose promotion-day
   * events are [b, c). Clicks before `asOf` are censored there (Infinity: no censoring).
   */
  label(time: Int32Array, item: Int32Array, behavior: Uint8Array, a: number, b: number, c: number, asOf: number, recordDelays: boolean): void {
    const res = this.resolution;
    const { cartSt, buySt, pBuySt, cartT, buyT } = this;
    const stamp = (this.stamp = ++this.gen);
    let lst = (this.lst = ++this.gen);
    for (let j = b; j < c; j++) if (behavior[j] === BUY) pBuySt[item[j]] = stamp;
    if (this.labels.length < b - a) this.labels = new Uint8Array(Math.max(b - a, this.labels.length * 2));
    const lab = this.labels;
    let censored = false;
    let j = b - 1;
    while (j >= a) {
      const bk = Math.floor(time[j] / res);
      let gs = j;
      while (gs - 1 >= a && Math.floor(time[gs - 1] / res) === bk) gs--;
      if (!censored && time[j] < asOf && asOf !== Infinity) {
        // from here on back, carts and buys at or after asOf are not yet logged
        censored = true;
        lst = this.lst = ++this.gen;
      }
      for (let x = gs; x <= j; x++) {
        const bh = behavior[x];
        if (bh === CART) { cartSt[item[x]] = lst; cartT[item[x]] = time[x]; }
        else if (bh === BUY) { buySt[item[x]] = lst; buyT[item[x]] = time[x]; }
      }
      for (let x = gs; x <= j; x++) {
        if (behavior[x] !== CLICK) continue;
        const it = item[x];
        const direct = buySt[it] === lst ? 1 : 0;
        const atc = cartSt[it] === lst ? 1 : 0;
        // a training click of the target never learns its promotion-day outcome
        const delayed = direct === 0 && pBuySt[it] === stamp && !censored ? 1 : 0;
        lab[x - a] = direct | (atc << 1) | (delayed << 2);
        if (recordDelays) {
          if (atc) addDelay(this.delayHours.atc, cartT[it] - time[x]);
          if (direct) addDelay(this.delayHours.direct, buyT[it] - time[x]);
        }
      }
      j = gs - 1;
    }
  }

  /** Was `item` bought on the promotion day of the window labelled last? */
  promoBought(item: number): boolean {
    return this.pBuySt[item] === this.stamp;
  }
}

function addDelay(h: number[], sec: number): void {
  h[Math.min(DELAY_BINS - 1, Math.floor(sec / SECONDS_PER_HOUR))]++;
}
