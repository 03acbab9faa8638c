import { PlainProgress, plainProgressWanted } from '../plain-progress.js';
import { didYouMean } from '../../util/suggest.js';
import { parseFlags, helpText, numFlag, strFlag, type FlagSpec } from '../args.js';
import { flagError } from '../../util/errors.js';
import { Progress } from '../../util/progress.js';
import { MODEL_NAMES, type ModelName } from '../../model/types.js';
import { parseJsonWithLocation } from '../../model/config.js';
import { readConfigFile } from '../../train/config.js';
import { TRAIN_FLAGS, trainOverridesFromFlags, combineTrainInputs, engineFlag, transportFlag, gpusFlag } from '../flags/train.js';
import { trainRun } from '../../train/run.js';
import { readRunConfig } from '../../train/run-dir.js';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CmdcmError } from '../../util/errors.js';
import { refusePrototypeKeys } from '../../util/json-safe.js';

const FLAGS = {
  data: { type: 'string', help: 'prepared dataset directory (from `cmdcm prepare`)' },
  model: { type: 'string', help: `model: ${MODEL_NAMES.join(', ')} (default: cmdcm, or the resumed run's)` },
  out: { type: 'string', help: 'run directory to create (config.json, checkpoints, metrics.jsonl, train.log)' },
  resume: { type: 'boolean', help: 'continue the run in --out from its last good checkpoint' },
  ...TRAIN_FLAGS,
} satisfies Record<string, FlagSpec>;

/** Reads --config / --model-config into the pieces trainRun takes; shared with compare. */
export function configInputs(values: Record<string, unknown>) {
  const cfgPath = strFlag(values, 'config');
  const file = cfgPath ? readConfigFile(cfgPath) : {};
  let modelConfig = file.model as Record<string, unknown> | undefined;
  let modelConfigSource = cfgPath ? `${cfgPath}: "model"` : undefined;
  const mcPath = strFlag(values, 'model-config');
  if (mcPath) {
    let text: string;
    try {
      text = readFileSync(mcPath, 'utf8');
    } catch (e) {
      throw new CmdcmError(`--model-config: cannot read ${mcPath} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
    }
    const j = parseJsonWithLocation(text, mcPath);
    if (typeof j !== 'object' || j === null || Array.isArray(j)) throw new CmdcmError(`${mcPath}: a model config must be a JSON object`);
    refusePrototypeKeys(j, mcPath);
    modelConfig = { ...(modelConfig ?? {}), ...(j as Record<string, unknown>) };
    modelConfigSource = mcPath;
  }
  const train = combineTrainInputs(file.train, trainOverridesFromFlags(values));
  return { train, trainConfigSource: cfgPath ?? 'flags', modelConfig, modelConfigSource };
}

/** Off a terminal, training prints a plain progress line this often. */
const PLAIN_PROGRESS_MS = 10_000;

export async function run(argv: string[]): Promise<number> {
  const { values, help } = parseFlags(argv, FLAGS);
  if (help) {
    process.stdout.write(helpText('train', '--data DIR --out RUN [--model NAME] [flags]', FLAGS) + '\n');
    return 0;
  }
  const data = strFlag(values, 'data'), out = strFlag(values, 'out');
  if (!data) throw flagError('data', 'required: the prepared dataset directory');
  // default: cmdcm, or the model of the run being resumed
  const model = strFlag(values, 'model') ?? (values.resume && out && existsSync(join(out, 'config.json')) ? readRunConfig(out).model : 'cmdcm');
  if (!(MODEL_NAMES as readonly string[]).includes(model)) throw flagError('model', `unknown model '${model}'${didYouMean(model, MODEL_NAMES)} (expected one of ${MODEL_NAMES.join(', ')})`);
  if (!out) throw flagError('out', 'required: the run directory');
  const workers = numFlag(values, 'workers', { int: true, min: 1 }) ?? 1;
  const inputs = configInputs(values);

  const ac = new AbortController();
  const onSig = () => {
    process.stderr.write('\ncmdcm train: stopping after this step (a checkpoint is written; continue with --resume)\n');
    ac.abort();
  };
  process.once('SIGINT', onSig);
  process.once('SIGTERM', onSig);
  // mpirun kills the job on SIGINT/SIGTERM but forwards SIGUSR2 to every rank: rank 0's stop is
  // then every rank's, at the same step, with a final checkpoint
  process.once('SIGUSR2', onSig);
  let bar: Progress | undefined;
  let base = 0;
  let plain: PlainProgress | undefined; // off a terminal: a line every PLAIN_PROGRESS_MS
  try {
    const res = await trainRun({
      data,
      model: model as ModelName,
      out,
      ...inputs,
      engine: engineFlag(values),
      resume: Boolean(values.resume),
      workers,
      transport: transportFlag(values),
      gpus: await gpusFlag(values),
      signal: ac.signal,
      on: {
        step: (e) => {
          if (!bar) {
            base = e.step - 1;
            bar = new Progress(`train ${model}`, e.totalSteps - base, 'steps');
          }
          bar.tick(e.step - base, `· ${Math.round(e.samplesPerSec)} samples/s · loss ${e.loss.toFixed(4)}`);
          if (!plain && plainProgressWanted()) plain = new PlainProgress(`train ${model}: step`, e.totalSteps, PLAIN_PROGRESS_MS, (l) => process.stderr.write(l));
          plain?.tick(e.step, `${Math.round(e.samplesPerSec)} samples/s, loss ${e.loss.toFixed(4)}`);
        },
        valid: (e) => {
          bar?.done();
          process.stderr.write(`step ${e.step}: valid logloss ${e.metric.toFixed(5)}${e.improved ? ' (best)' : ` (best ${e.best.toFixed(5)}, ${e.badValidations} without improvement)`}\n`);
        },
      },
    });
    bar?.done();
    const s = res.summary;
    const best = s.best ? `best validation logloss ${s.best.metric.toFixed(5)} at step ${s.best.step}` : 'no validation yet';
    const why = s.finished === 'early-stop' ? 'early stop' : s.finished === 'interrupted' ? 'interrupted (continue with --resume)' : s.finished === 'max-steps' ? 'step budget reached' : 'all epochs done';
    // under MPI the lead (rank 0) reports for the job
    if (res.rank === 0) process.stdout.write(`trained ${model}: ${s.steps} steps, ${why}, ${best}, ${Math.round(s.samplesPerSec)} samples/s; run in ${out}\n`);
    return s.finished === 'interrupted' ? 130 : 0;
  } finally {
    bar?.done();
    process.removeListener('SIGINT', onSig);
    process.removeListener('SIGTERM', onSig);
    process.removeListener('SIGUSR2', onSig);
  }
}
