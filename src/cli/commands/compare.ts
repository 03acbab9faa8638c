import { parseFlags, helpText, numFlag, strFlag, type FlagSpec } from '../args.js';
import { didYouMean } from '../../util/suggest.js';
import { flagError } from '../../util/errors.js';
import { Progress } from '../../util/progress.js';
import { MODEL_NAMES, type ModelName } from '../../model/types.js';
import { compareModels, compareMarkdown } from '../../workflows/compare.js';
import { TRAIN_FLAGS, engineFlag, transportFlag, gpusFlag } from '../flags/train.js';
import { writeFileAtomic } from '../../util/atomic.js';
import { configInputs } from './train.js';

const FLAGS = {
  data: { type: 'string', help: 'prepared dataset directory' },
  models: { type: 'string', help: `comma-separated models (of ${MODEL_NAMES.join(', ')})` },
  truth: { type: 'string', help: 'ground-truth CSV of `cmdcm generate`: adds the Pearson correlation of p_transition with the truth, and an oracle row (the true probabilities) that flags a model beating it as a probable leak' },
  out: { type: 'string', help: 'keep each run in OUT/<model> (default: temporary, removed)' },
  json: { type: 'string', help: 'also write the rows as JSON to this file' },
  seeds: { type: 'string', default: '1', help: 'train each model with K seeds (--seed, --seed + 1, …): mean ± std per metric' },
  bootstrap: { type: 'string', default: '200', help: 'bootstrap draws of the test users for the 95 % intervals (0: none)' },
  ...TRAIN_FLAGS,
} satisfies Record<string, FlagSpec>;

export async function run(argv: string[]): Promise<number> {
  const { values, help } = parseFlags(argv, FLAGS);
  if (help) {
    process.stdout.write(helpText('compare', '--data DIR --models a,b,... [--truth FILE]', FLAGS) + '\n');
    return 0;
  }
  const data = strFlag(values, 'data'), models = strFlag(values, 'models');
  if (!data) throw flagError('data', 'required: the prepared dataset directory');
  if (!models) throw flagError('models', `required: comma-separated models (of ${MODEL_NAMES.join(', ')})`);
  const list = models.split(',').map((s) => s.trim()).filter(Boolean);
  for (const m of list) if (!(MODEL_NAMES as readonly string[]).includes(m)) throw flagError('models', `unknown model '${m}'${didYouMean(m, MODEL_NAMES)} (expected some of ${MODEL_NAMES.join(', ')})`);
  const inputs = configInputs(values);
  let bar: Progress | undefined;
  let base = 0;
  let current = '';
  const rows = await compareModels({
    data,
    models: list as ModelName[],
    truth: strFlag(values, 'truth'),
    out: strFlag(values, 'out'),
    train: inputs.train,
    seeds: numFlag(values, 'seeds', { int: true, min: 1, max: 100 }),
    bootstrap: numFlag(values, 'bootstrap', { int: true, min: 0 }),
    engine: engineFlag(values),
    workers: numFlag(values, 'workers', { int: true, min: 1 }) ?? 1,
    modelConfigs: inputs.modelConfig ? Object.fromEntries(list.map((m) => [m, inputs.modelConfig])) : undefined,
    transport: noMpi(transportFlag(values)),
    gpus: await gpusFlag(values),
    onModelStart: (m, k, n, seed) => {
      bar?.done();
      bar = undefined;
      current = `${m} (${k + 1}/${n}, seed ${seed})`;
      process.stderr.write(`cmdcm compare: training ${current}\n`);
    },
    on: {
      step: (e) => {
        if (!bar) {
          base = e.step - 1;
          bar = new Progress(`train ${current}`, e.totalSteps - base, 'steps');
        }
        bar.tick(e.step - base, `· ${Math.round(e.samplesPerSec)} samples/s · loss ${e.loss.toFixed(4)}`);
      },
    },
  });
  bar?.done();
  process.stdout.write(compareMarkdown(rows));
  const jsonPath = strFlag(values, 'json');
  if (jsonPath) await writeFileAtomic(jsonPath, JSON.stringify(rows.map(({ report, reports, ...r }) => ({ ...r, tasks: report.tasks, reliability: report.reliability, perSeed: reports.map((x) => x.tasks) })), null, 2) + '\n');
  return 0;
}

/** compare trains several models in one process; an MPI job trains one (MPI is finalized at its end). */
function noMpi<T extends string | undefined>(t: T): Exclude<T, 'mpi'> {
  if (t === 'mpi') throw flagError('transport', "mpi trains one model per job: run `cmdcm train --transport mpi` for each model under mpirun, then `cmdcm eval` on the runs");
  return t as Exclude<T, 'mpi'>;
}
