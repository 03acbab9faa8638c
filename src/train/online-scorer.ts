import { allocColumns, type Schema } from '../data/batch.js';
import { CLICK, resolutionSeconds, type LogEvent, type GroupedEvents } from '../data/types.js';
import type { Calendar } from '../data/calendar.js';
import { openDataset, type DatasetMeta } from '../data/dataset.js';
import { ingestEvents } from '../data/events.js';
import { buildSamples } from '../data/samples.js';
import { planRows, type SamplePlan } from '../data/sample-plan.js';
import type { SampleChunk } from '../data/chunks.js';
import { packChunk } from '../data/sequences.js';
import { hashVocab } from '../features/index.js';
import type { Predictions } from '../model/types.js';
import { CmdcmError } from '../util/errors.js';
import { Predictor, type PredictorOptions } from './predictor.js';

/** A click to score as it happens: its ids as in the log, local wall-clock seconds (types.ts). */
export interface LiveClick {
  user: string;
  item: string;
  category: string;
  time: number;
  seller?: string;
  brand?: string;
  geohash?: string;
}

/**
 * Scores live clicks for a service loop: a click and the log around it (its user's earlier events,
 * and for the item-popularity features other users' events) go through the same code `prepare`
 * runs (the event store, sample-plan rows by hashing the ids into the run's schema, the sample
 * builder's features and sequences), then through the run's model. A click of a dataset's test
 * split, given the dataset's log, gets the probabilities `predict` writes for it (tested).
 *
 * The promotions and the serving time are the run's dataset's (meta.json); a click outside every
 * pre-window gets NaN. Load once, call `score` per batch of clicks.
 */
export class OnlineScorer {
  private constructor(readonly predictor: Predictor, readonly meta: DatasetMeta) {}

  static async load(runDir: string, opts: PredictorOptions & { data?: string } = {}): Promise<OnlineScorer> {
    const predictor = await Predictor.load(runDir, opts);
    const ds = await openDataset(opts.data ?? predictor.config.data);
    if (JSON.stringify(ds.schema) !== JSON.stringify(predictor.schema)) {
      throw new CmdcmError(`${ds.dir}: its schema is not the one ${runDir} was trained on`);
    }
    return new OnlineScorer(predictor, ds.meta);
  }

  /**
   * The four probabilities of each click, in order. `context`: the log the features look at (only
   * events before each click count); it may contain the clicks themselves, which are then not
   * added twice.
   */
  async score(clicks: readonly LiveClick[], context: Iterable<LogEvent>, opts: { signal?: AbortSignal } = {}): Promise<Predictions> {
    const n = clicks.length;
    const out: Predictions = { direct: new Float32Array(n).fill(NaN), atc: new Float32Array(n).fill(NaN), transition: new Float32Array(n).fill(NaN), delayed: new Float32Array(n).fill(NaN) };
    if (n === 0) return out;
    const key = (u: string, i: string, t: number) => `${u}\x1f${i}\x1f${t}`;
    const events: LogEvent[] = [];
    const logged = new Set<string>();
    for (const ev of context) {
      events.push(ev);
      if (ev.behavior === CLICK) logged.add(key(ev.user, ev.item, ev.time));
    }
    for (const c of clicks) {
      if (logged.has(key(c.user, c.item, c.time))) continue;
      events.push({ user: c.user, item: c.item, category: c.category, seller: c.seller, brand: c.brand, geohash: c.geohash, behavior: CLICK, time: c.time });
    }
    const g = await ingestEvents(events, { format: this.meta.timeFormat, resolution: this.meta.resolution });
    const schema = this.predictor.schema;
    const cal: Calendar = { promotions: this.meta.promotions, target: this.meta.target };
    const chunks: SampleChunk[] = [];
    await buildSamples(withSideFields(g, schema), cal, planFromSchema(schema, g, cal), (c) => { chunks.push(c); }, { asOf: this.meta.asOf, shardSize: 1 << 30 });
    // the samples of the asked clicks: (user, item, time), and the side ids where the click gives
    // them (two clicks in one time bucket differ only there; otherwise their features are equal)
    const where = new Map<string, [number, number][]>();
    chunks.forEach((c, ci) => {
      for (let k = 0; k < c.n; k++) {
        const id = key(g.vocab.user[c.columns.user[k]], g.vocab.item[c.columns.item[k]], c.columns.time[k]);
        let a = where.get(id);
        if (!a) where.set(id, (a = []));
        a.push([ci, k]);
      }
    });
    const F0 = schema.fields.length;
    const sideCol = (['seller', 'brand', 'geohash'] as const).map((f) => ({ f, col: schema.fields.indexOf(f), fh: schema.hash.find((h) => h.name === f) }));
    const found = clicks.map((c) => {
      const cands = where.get(key(c.user, c.item, c.time));
      if (!cands) return undefined;
      return cands.find(([ci, k]) => sideCol.every(({ f, col, fh }) => {
        const v = c[f];
        if (col < 0 || v === undefined || !fh) return true;
        return chunks[ci].columns.fields[k * F0 + col] === hashVocab(fh, [v])[0];
      })) ?? cands[0];
    });
    const m = found.filter(Boolean).length;
    const cols = allocColumns(schema, m);
    const F = schema.fields.length, S = schema.dense.length;
    const res = resolutionSeconds(this.meta.resolution);
    let at = 0;
    found.forEach((f) => {
      if (!f) return;
      const [ci, k] = f;
      const c = chunks[ci].columns;
      cols.fields.set(c.fields.subarray(k * F, k * F + F), at * F);
      cols.dense.set(c.dense.subarray(k * S, k * S + S), at * S);
      cols.user[at] = c.user[k];
      cols.item[at] = c.item[k];
      cols.time[at] = c.time[k];
      cols.daysToPromo[at] = c.daysToPromo[k];
      cols.promo[at] = chunks[ci].promo;
      packChunk(c, schema, res, cols.seq, cols.seqLen, at, [k]);
      at++;
    });
    const p = await this.predictor.predictAsync(cols, { signal: opts.signal });
    at = 0;
    found.forEach((f, i) => {
      if (!f) return;
      out.direct[i] = p.direct[at]; out.atc[i] = p.atc[at]; out.transition[i] = p.transition[at]; out.delayed[i] = p.delayed[at];
      at++;
    });
    return out;
  }
}

/**
 * The plan of a run's schema for the ids of `g`: the rows of planRows (what planSamples does with
 * the sizes it chose; here the run fixed them) and the events' own numbering as ids.
 */
function planFromSchema(schema: Schema, g: GroupedEvents, cal: Calendar): SamplePlan {
  const identity = (k: number) => Int32Array.from({ length: k }, (_, i) => i);
  const rows = planRows(schema, g, Math.max(...cal.promotions.map((p) => p.preDays)));
  return { schema, rows, ids: { user: identity(g.vocab.user.length), item: identity(g.vocab.item.length) } };
}

/** A side field of the schema that none of the events carries: all missing. */
function withSideFields(g: GroupedEvents, schema: Schema): GroupedEvents {
  const out: GroupedEvents = { ...g, vocab: { ...g.vocab } };
  for (const f of ['seller', 'brand', 'geohash'] as const) {
    if (schema.fields.includes(f) && !out[f]) {
      out[f] = new Int32Array(g.n).fill(-1);
      out.vocab[f] = [];
    }
  }
  return out;
}
