import { openDataset, type Dataset } from '../data/dataset.js';
import type { LogFormat } from '../data/types.js';
import type { Predictions } from '../model/types.js';
import type { SampleColumns } from '../data/batch.js';
import { writeFileAtomic } from '../util/atomic.js';
import { CmdcmError } from '../util/errors.js';
import { BEIJING_OFFSET_SEC } from '../data/readers/taobao2017.js';
import { schemaFingerprint } from './fingerprint.js';
import { Predictor, type PredictorOptions } from './predictor.js';

/**
 * Times back in the input log's own notation (local wall-clock seconds in, see src/data/types.ts):
 *  - tianchi2014: `YYYY-MM-DD HH`;
 *  - taobao2017: unix seconds (the reader's +8 h Beijing shift undone);
 *  - tmall2015: mmdd as the IJCAI-15 log writes it, an integer without a leading zero (`1111`, `829`);
 *  - generic: local `YYYY-MM-DD HH:MM:SS` (the generic reader accepts several notations).
 */

const p2 = (n: number) => String(n).padStart(2, '0');

export function formatTime(localSeconds: number, format: LogFormat): string {
  const d = new Date(localSeconds * 1000);
  switch (format) {
    case 'tianchi2014':
      return `${d.getUTCFullYear()}-${p2(d.getUTCMonth() + 1)}-${p2(d.getUTCDate())} ${p2(d.getUTCHours())}`;
    case 'taobao2017':
      return String(localSeconds - BEIJING_OFFSET_SEC);
    case 'tmall2015':
      return String((d.getUTCMonth() + 1) * 100 + d.getUTCDate());
    case 'generic':
      return `${d.getUTCFullYear()}-${p2(d.getUTCMonth() + 1)}-${p2(d.getUTCDate())} ${p2(d.getUTCHours())}:${p2(d.getUTCMinutes())}:${p2(d.getUTCSeconds())}`;
  }
}

export const PREDICTION_COLUMNS = ['user_id', 'item_id', 'time', 'p_direct', 'p_atc', 'p_transition', 'p_delayed'] as const;

export interface PredictionRows {
  user: string[];
  item: string[];
  time: string[];
  preds: Predictions;
}

/** Raw ids and formatted times of each sample, aligned with its predictions. */
export async function predictionRows(ds: Dataset, cols: SampleColumns, preds: Predictions): Promise<PredictionRows> {
  const vocab = await ds.vocab();
  const user: string[] = new Array(cols.n), item: string[] = new Array(cols.n), time: string[] = new Array(cols.n);
  for (let i = 0; i < cols.n; i++) {
    const u = vocab.users[cols.user[i]], it = vocab.items[cols.item[i]];
    if (u === undefined || it === undefined) throw new CmdcmError(`${ds.dir}: sample ${i} refers to user/item index ${cols.user[i]}/${cols.item[i]} beyond the vocabulary; re-run \`cmdcm prepare\``);
    user[i] = u;
    item[i] = it;
    time[i] = formatTime(cols.time[i], ds.meta.timeFormat);
  }
  return { user, item, time, preds };
}

export function rowsToCsv(r: PredictionRows): string {
  const out: string[] = [PREDICTION_COLUMNS.join(',')];
  const f = (x: number) => (Number.isFinite(x) ? Number(x.toPrecision(6)).toString() : 'NaN');
  const q = (s: string) => (/[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);
  for (let i = 0; i < r.user.length; i++) {
    out.push(`${q(r.user[i])},${q(r.item[i])},${q(r.time[i])},${f(r.preds.direct[i])},${f(r.preds.atc[i])},${f(r.preds.transition[i])},${f(r.preds.delayed[i])}`);
  }
  return out.join('\n') + '\n';
}

/**
 * Predictions of a run for every target pre-window click (the dataset's 'test' split), as CSV rows
 * `user_id,item_id,time,p_direct,p_atc,p_transition,p_delayed` in sample order.
 */
export async function predictRun(opts: { run: string | Predictor; data?: string | Dataset; out?: string } & PredictorOptions): Promise<PredictionRows & { n: number }> {
  const predictor = typeof opts.run === 'string' ? await Predictor.load(opts.run, opts) : opts.run;
  const data = opts.data ?? predictor.config.data;
  const ds = typeof data === 'string' ? await openDataset(data) : data;
  const fp = schemaFingerprint(ds.schema);
  if (fp !== predictor.config.schemaFingerprint) {
    throw new CmdcmError(`${ds.dir}: this dataset's schema (fingerprint ${fp}) differs from the one run ${predictor.runDir} was trained on (${predictor.config.schemaFingerprint}, ${predictor.config.data}); prepare it with the same options`);
  }
  const cols = await ds.load('test', { lazySequences: true });
  const preds = await predictor.predictAsync(cols, { signal: opts.signal, onProgress: opts.onProgress });
  const rows = await predictionRows(ds, cols, preds);
  if (opts.out) await writeFileAtomic(opts.out, rowsToCsv(rows));
  return { ...rows, n: cols.n };
}
