import type { GroupedEvents, Promotion } from './types.js';
import { CART, CLICK, COLLECT, SECONDS_PER_DAY, SECONDS_PER_HOUR, resolutionSeconds } from './types.js';
import type { Calendar } from './calendar.js';
import { buildItemDayStats, itemCountsBefore, type ItemDayStats } from './stats.js';
import type { SamplePlan } from './sample-plan.js';
import { ChunkBuffer, type Block, type SampleChunk } from './chunks.js';
import { WindowLabeler } from './labels.js';
import { DENSE, ITEM_BUY_PRIOR, ITEM_CART_PRIOR, ITEM_STRENGTH, USER_CONV_PRIOR, USER_CONV_STRENGTH, log1pInt } from './dense-features.js';

/**
 * The sample builder (DESIGN.md "Data semantics"): every click of a user on an item inside a
 * promotion's pre-window is one sample. The stages of one user's window:
 *  - labels: labels.ts walks the window backward (and censors the target's clicks at asOf);
 *  - features: the walk forward below, emitting a bucket's clicks before adding its events to the
 *    state, so a sample's features see only events strictly before its bucket: the ids' table
 *    rows (sample-plan.ts), the dense features by name (dense-features.ts), and the events its
 *    behavior sequence looks back on (chunks.ts; packed at load time, sequences.ts);
 *  - output: chunks of one promotion (the target's test clicks in chunks of their own) to the sink.
 *
 * Leakage guard by construction: every feature is computed from state updated only after the
 * click's bucket was emitted; sample-plan.ts refuses label-derived feature names; the leakage test
 * mutates events at or after a click and checks its features stay byte-identical, the as-of test
 * everything at or after asOf.
 */

export interface BuildStats {
  samples: number;
  perPromo: number[];
  /** samples on the last `validDays` days of each promotion's pre-window */
  perPromoLate: number[];
  /** labels summed per promotion, TASKS order */
  positives: number[][];
  targetOutcomeKnown: boolean;
  usersWithSamples: number;
  /** target clicks at or after `asOf` (the test split; included in perPromo[target]) */
  targetTest: number;
  /**
   * Historical pre-windows' label delays: for each click with an atc (direct) label, hours from the
   * click to the first cart (buy) at or after it, as a histogram (bin h = h hours, the last bin
   * everything longer). `labelHorizons` turns them into the age at which a click's label is mature.
   */
  delayHours: { atc: number[]; direct: number[] };
}

export interface BuildOptions {
  /** flush a promotion's chunk once it holds at least this many samples (default 65536) */
  shardSize?: number;
  validDays?: number;
  /**
   * Hand the sink views of the builder's buffers instead of copies: no copy per shard, but the
   * chunk is valid only until the sink's promise resolves (prepare writes it out by then). The
   * next chunk may then be built, and handed over, before that promise resolves.
   */
  reuseBuffers?: boolean;
  /** build only the samples of users [from, to) (a parallel build splits the users) */
  users?: [number, number];
  /** test hook: item x day cells above which item statistics use the sparse layout */
  denseItemDayCells?: number;
  /** called every few thousand users with the number of events processed */
  onProgress?: (eventsDone: number) => void;
  /**
   * Item statistics and the log's last day, when the events handed over are only part of the log
   * (the out-of-core prepare): both must describe the whole log. Default: computed from the events.
   */
  itemStats?: ItemDayStats;
  lastDay?: number;
  /**
   * The serving time (local seconds, a multiple of the log's resolution): the target's clicks
   * before it are training samples whose atc/direct labels count only events before it and whose
   * delayed label is masked (0); clicks at or after it are test samples with their full outcome
   * (DESIGN.md "Label availability"). Default: the target's day (no test samples).
   */
  asOf?: number;
}

/**
 * A slice of the log for `buildSamplesFromParts`: the grouped events of users [users[0], users[1])
 * (user indices global, other users' CSR ranges empty or ignored).
 */
export interface EventPart {
  g: GroupedEvents;
  users: [number, number];
}


/**
 * Build all samples of `g` for the calendar, handing full chunks (one promotion each, at least
 * `shardSize` samples except the last of each promotion) to `sink` in the order they fill up.
 */
export async function buildSamples(g: GroupedEvents, cal: Calendar, plan: SamplePlan, sink: (chunk: SampleChunk) => Promise<void> | void,
  opts: BuildOptions = {}): Promise<BuildStats> {
  const nUsers = g.userStart.length - 1;
  const promos = cal.promotions;
  let lastDay = opts.lastDay;
  if (lastDay === undefined) {
    let maxT = -Infinity;
    for (let k = 0; k < g.n; k++) if (g.time[k] > maxT) maxT = g.time[k];
    lastDay = Math.floor(maxT / SECONDS_PER_DAY);
  }
  // from the plan, not g.vocab: a parallel build hands workers the columns without the id strings
  const itemStats = opts.itemStats ?? buildItemDayStats(g, plan.rows.item.length, promos.filter((_, i) => i !== cal.target).map((p) => p.day), opts.denseItemDayCells);
  return buildSamplesFromParts([{ g, users: opts.users ?? [0, nUsers] }], g.resolution, cal, plan, sink, { ...opts, itemStats, lastDay });
}

/**
 * `buildSamples` over the log handed over in parts, each holding every event of its users: the
 * samples and chunks are those of one `buildSamples` over the whole log when the parts' user
 * ranges are consecutive. `opts.itemStats` and `opts.lastDay` must describe the whole log.
 */
export async function buildSamplesFromParts(parts: Iterable<EventPart> | AsyncIterable<EventPart>, resolution: GroupedEvents['resolution'],
  cal: Calendar, plan: SamplePlan, sink: (chunk: SampleChunk) => Promise<void> | void,
  opts: BuildOptions & { itemStats: ItemDayStats; lastDay: number }): Promise<BuildStats> {
  const shardSize = opts.shardSize ?? 65536;
  const reuse = opts.reuseBuffers ?? false;
  const validDays = opts.validDays ?? 0;
  const { schema, rows } = plan;
  const F = schema.fields.length, S = schema.dense.length, L = schema.seqLen;
  const promos: Promotion[] = cal.promotions;
  const nP = promos.length;
  const nItems = rows.item.length;
  const target = cal.target;
  const targetOutcomeKnown = opts.lastDay >= promos[target].day;
  const delayedMaskOf = (pi: number) => (pi === target && !targetOutcomeKnown ? 0 : 1);
  const asOf = opts.asOf ?? promos[target].day * SECONDS_PER_DAY;

  const istats = opts.itemStats;
  const userIds = plan.ids.user, itemIds = plan.ids.item;
  const sideCols = schema.fields.filter((f) => f === 'seller' || f === 'brand' || f === 'geohash') as ('seller' | 'brand' | 'geohash')[];
  const sideRows = sideCols.map((f) => rows[f]!);
  const sideMissing = sideCols.map((f) => rows.missing[f]);
  const hasHour = schema.fields.includes('hour');

  const res = resolutionSeconds(resolution);
  const labeler = new WindowLabeler(nItems, res);
  // feature state per item, valid where its stamp is the current (user, window)'s
  const uiSt = new Int32Array(nItems).fill(-1), uiClicks = new Int32Array(nItems), uiCarted = new Uint8Array(nItems);
  const convSt = new Int32Array(nItems).fill(-1);
  let stamp = 0;
  const ic4 = new Int32Array(4);

  // one buffer per promotion, and slot nP for the target's test clicks
  const TEST = nP;
  const slots = nP + 1;
  const newBuf = () => new ChunkBuffer(F, S, Math.min(shardSize, 1 << 16), shardSize);
  const bufs = Array.from({ length: slots }, (_, i) => (i === TEST ? new ChunkBuffer(F, S, 1024, shardSize) : newBuf()));
  // With reused buffers each slot has a second buffer that fills while the sink still holds
  // the first (prepare writes a shard meanwhile: waiting for each write idled ~15% of prepare).
  const spare: (ChunkBuffer | undefined)[] = bufs.map(() => undefined);
  const writing: (Promise<void> | undefined)[] = bufs.map(() => undefined);
  const flush = async (pi: number): Promise<void> => {
    const chunk = bufs[pi].take(pi === TEST ? target : pi, pi === TEST, reuse);
    if (!reuse) return sink(chunk);
    const held = spare[pi], prev = writing[pi];
    spare[pi] = bufs[pi];
    const p = Promise.resolve(sink(chunk));
    // handled here so a failure cannot surface as an unhandled rejection; it is awaited below
    p.catch(() => {});
    writing[pi] = p;
    await prev;
    bufs[pi] = held ?? newBuf();
  };
  const stats: BuildStats = {
    samples: 0, perPromo: new Array(nP).fill(0), perPromoLate: new Array(nP).fill(0),
    positives: promos.map(() => [0, 0, 0]), targetOutcomeKnown, usersWithSamples: 0, targetTest: 0,
    delayHours: labeler.delayHours,
  };
  const winStart = promos.map((p) => (p.day - p.preDays) * SECONDS_PER_DAY);
  const winEnd = promos.map((p) => p.day * SECONDS_PER_DAY);
  const D = DENSE;
  const itemRows = rows.item, catRows = rows.category, dtpRows = rows.dtp, hourRows = rows.hour;

  // events of the parts before the current one, for progress
  let doneBefore = 0;
  for await (const part of parts) {
    const { g } = part;
    const { time, item, category, behavior, userStart } = g;
    const sideIds = sideCols.map((f) => g[f]!);
    const [uFrom, uTo] = part.users;
    for (let u = uFrom; u < uTo; u++) {
      const s = userStart[u], e = userStart[u + 1];
      let hClick = 0, hCollect = 0, hCart = 0, hBuy = 0, hCartItems = 0, hConv = 0, hasHist = 0;
      let k = s;
      let userHad = false;
      for (let pi = 0; pi < nP; pi++) {
        const ws = winStart[pi], we = winEnd[pi], pe = we + SECONDS_PER_DAY;
        while (k < e && time[k] < ws) k++;
        const a = k;
        while (k < e && time[k] < we) k++;
        const b = k;
        while (k < e && time[k] < pe) k++;
        const c = k;
        if (a === b) continue;
        const isTarget = pi === target;
        // the target's clicks before asOf train, on what was logged before asOf; later ones test
        const censor = isTarget && asOf < we;
        labeler.label(time, item, behavior, a, b, c, censor ? asOf : Infinity, !isTarget);
        const labBuf = labeler.labels;
        stamp++;

        let wClick = 0, wCollect = 0, wCart = 0, wBuy = 0;
        const pr = promos[pi];
        const uRow = rows.user[u];
        const lateFrom = pr.day - validDays;
        const convRate = (hConv + USER_CONV_PRIOR * USER_CONV_STRENGTH) / (hCartItems + USER_CONV_STRENGTH);
        const lhClick = Math.log1p(hClick), lhCollect = Math.log1p(hCollect), lhCart = Math.log1p(hCart), lhBuy = Math.log1p(hBuy);
        const dMask = delayedMaskOf(pi);
        // the window's samples go to its promotion's buffer, the target's from asOf on to the test one
        const blocks: Block[] = censor ? [bufs[pi].openBlock(b - a), bufs[TEST].openBlock(b - a)] : [bufs[pi].openBlock(b - a)];
        let pDirect = 0, pAtc = 0, pDelayed = 0, late = 0;
        let j = a;
        while (j < b) {
          const bk = Math.floor(time[j] / res);
          let ge = j + 1;
          while (ge < b && Math.floor(time[ge] / res) === bk) ge++;
          const lwClick = log1pInt(wClick), lwCollect = log1pInt(wCollect), lwCart = log1pInt(wCart), lwBuy = log1pInt(wBuy);
          for (let x = j; x < ge; x++) {
            if (behavior[x] !== CLICK) continue;
            const t = time[x], it = item[x];
            const test = censor && t >= asOf;
            const blk = blocks[test ? 1 : 0];
            const buf = blk.buf;
            const idx = buf.n++;
            const day = Math.floor(t / SECONDS_PER_DAY);
            const dtp = pr.day - day;
            const fa = buf.fields.a;
            const fo = idx * F;
            fa[fo] = uRow;
            fa[fo + 1] = itemRows[it];
            fa[fo + 2] = catRows[category[x]];
            let f = 3;
            for (let q = 0; q < sideCols.length; q++, f++) {
              const id = sideIds[q][x];
              fa[fo + f] = id < 0 ? sideMissing[q] : sideRows[q][id];
            }
            fa[fo + f++] = dtpRows[dtp];
            if (hasHour) fa[fo + f] = hourRows[Math.floor((t % SECONDS_PER_DAY) / SECONDS_PER_HOUR)];

            const d = buf.dense.a;
            const o = idx * S;
            d[o + D.u_win_click] = lwClick; d[o + D.u_win_collect] = lwCollect; d[o + D.u_win_cart] = lwCart; d[o + D.u_win_buy] = lwBuy;
            d[o + D.u_hist_click] = lhClick; d[o + D.u_hist_collect] = lhCollect; d[o + D.u_hist_cart] = lhCart; d[o + D.u_hist_buy] = lhBuy;
            d[o + D.u_hist_cart_promo_buy_rate] = convRate; d[o + D.u_has_hist] = hasHist;
            const seen = uiSt[it] === stamp;
            d[o + D.ui_win_click] = seen ? log1pInt(uiClicks[it]) : 0;
            d[o + D.ui_win_carted] = seen ? uiCarted[it] : 0;
            itemCountsBefore(istats, it, day, ic4);
            const ic = ic4[0], ica = ic4[1], ib = ic4[2];
            // per week since the log's first day, not a running total: a count that grows with the
            // log's length puts later promotions' clicks outside the range the delayed towers learnt on
            d[o + D.i_click] = Math.log1p((7 * ic) / Math.max(1, day - istats.firstDay));
            d[o + D.i_cart_rate] = (ica + ITEM_CART_PRIOR * ITEM_STRENGTH) / (ic + ITEM_STRENGTH);
            d[o + D.i_buy_rate] = (ib + ITEM_BUY_PRIOR * ITEM_STRENGTH) / (ic + ITEM_STRENGTH);
            d[o + D.i_promo_buy] = log1pInt(ic4[3]);
            d[o + D.days_to_promo_frac] = dtp / pr.preDays;

            const lab = labBuf[x - a];
            const la = buf.labels.a, ma = buf.mask.a;
            const lo = idx * 3;
            la[lo] = lab & 1; la[lo + 1] = (lab >> 1) & 1; la[lo + 2] = (lab >> 2) & 1;
            ma[lo] = 1; ma[lo + 1] = 1; ma[lo + 2] = censor && !test ? 0 : dMask;
            pDirect += lab & 1; pAtc += (lab >> 1) & 1; pDelayed += (lab >> 2) & 1;
            buf.user.a[idx] = userIds[u]; buf.item.a[idx] = itemIds[it]; buf.time.a[idx] = t; buf.dtp.a[idx] = dtp;
            buf.seqBlock.a[idx] = blk.id;
            if (idx === blk.start) blk.seqLo = Math.max(s, j - L);
            blk.seqHi = j;
            if (day >= lateFrom) late++;
            if (test) stats.targetTest++;
          }
          for (let x = j; x < ge; x++) {
            const bh = behavior[x];
            const it = item[x];
            if (uiSt[it] !== stamp) { uiSt[it] = stamp; uiClicks[it] = 0; uiCarted[it] = 0; }
            if (bh === CLICK) { wClick++; uiClicks[it]++; }
            else if (bh === COLLECT) wCollect++;
            else if (bh === CART) { wCart++; uiCarted[it] = 1; }
            else wBuy++;
          }
          j = ge;
        }
        const pos = stats.positives[pi];
        pos[0] += pDirect; pos[1] += pAtc; pos[2] += pDelayed;
        stats.perPromoLate[pi] += late;
        for (const blk of blocks) {
          const added = blk.buf.n - blk.start;
          if (added === 0) continue;
          userHad = true;
          stats.perPromo[pi] += added;
          stats.samples += added;
          blk.buf.closeBlock(blk, itemRows, catRows, item, category, behavior, time);
        }

        // this pre-window becomes history for the user's later promotions
        hClick += wClick; hCollect += wCollect; hCart += wCart; hBuy += wBuy; hasHist = 1;
        for (let x = a; x < b; x++) {
          if (behavior[x] !== CART) continue;
          const it = item[x];
          if (convSt[it] === stamp) continue;
          convSt[it] = stamp;
          hCartItems++;
          if (labeler.promoBought(it)) hConv++;
        }
      }
      if (userHad) stats.usersWithSamples++;
      for (let pi = 0; pi < slots; pi++) {
        if (bufs[pi].n >= shardSize) await flush(pi);
      }
      if (opts.onProgress && (u & 1023) === 1023) opts.onProgress(doneBefore + e - userStart[uFrom]);
    }
    doneBefore += userStart[uTo] - userStart[uFrom];
  }
  for (let pi = 0; pi < slots; pi++) if (bufs[pi].n > 0) await flush(pi);
  await Promise.all(writing);
  opts.onProgress?.(doneBefore);
  return stats;
}
