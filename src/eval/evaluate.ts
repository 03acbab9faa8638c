import { join } from 'node:path';
import { openDataset, type Dataset } from '../data/dataset.js';
import { writeFileAtomic } from '../util/atomic.js';
import { CmdcmError } from '../util/errors.js';
import { schemaFingerprint } from '../train/fingerprint.js';
import { Predictor, type PredictorOptions } from '../train/predictor.js';
import { evaluatePredictions, reportMarkdown, type EvalReport } from './report.js';
import { modeledTasks } from './modeled.js';

export interface RunEvaluation extends EvalReport {
  run: string;
  model: string;
  data: string;
  /** step of the evaluated parameters */
  step: number;
  split: 'test';
}

/**
 * Metrics of a trained run on its dataset's test split (the target pre-window's clicks scored
 * against their promotion-day outcome). Writes eval.json and eval.md into the run directory unless
 * `write` is false.
 */
export async function evaluateRun(opts: { run: string | Predictor; data?: string | Dataset; write?: boolean } & PredictorOptions): Promise<{ report: RunEvaluation; markdown: string }> {
  const predictor = typeof opts.run === 'string' ? await Predictor.load(opts.run, opts) : opts.run;
  const data = opts.data ?? predictor.config.data;
  const ds = typeof data === 'string' ? await openDataset(data) : data;
  const fp = schemaFingerprint(ds.schema);
  if (fp !== predictor.config.schemaFingerprint) {
    throw new CmdcmError(`${ds.dir}: this dataset's schema (fingerprint ${fp}) differs from the one run ${predictor.runDir} was trained on (${predictor.config.schemaFingerprint})`);
  }
  const cols = await ds.load('test', { lazySequences: true });
  if (cols.n === 0) throw new CmdcmError(`${ds.dir}: the test split (target pre-window clicks) is empty`);
  const r = evaluatePredictions(cols, await predictor.predictAsync(cols, { signal: opts.signal, onProgress: opts.onProgress }), { modeled: modeledTasks(predictor.config.modelConfig) });
  if (!ds.meta.targetOutcomeKnown) r.warnings.unshift(`the log ends before the target promotion day: delayed and transition labels of the test split are unknown`);
  const report: RunEvaluation = { run: predictor.runDir, model: predictor.config.model, data: ds.dir, step: predictor.step, split: 'test', ...r };
  const markdown = reportMarkdown(r, `${predictor.config.model} on ${ds.dir} (test split, step ${predictor.step})`);
  if (opts.write ?? true) {
    try {
      await writeFileAtomic(join(predictor.runDir, 'eval.json'), JSON.stringify(report, null, 2) + '\n');
      await writeFileAtomic(join(predictor.runDir, 'eval.md'), markdown);
    } catch (e) {
      // the metrics are printed all the same; only their copy in the run directory is missing
      if (!(e instanceof CmdcmError)) throw e;
      report.warnings.push(`the report was not saved in the run directory: ${e.message}`);
    }
  }
  return { report, markdown };
}
