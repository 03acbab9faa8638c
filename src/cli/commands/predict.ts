import { parseFlags, helpText, strFlag, type FlagSpec } from '../args.js';
import { flagError } from '../../util/errors.js';
import { predictRun } from '../../train/predict-csv.js';
import { engineFlag } from '../flags/train.js';
import { checkOutFile, ensureDir } from '../../util/fsx.js';
import { dirname } from 'node:path';

const FLAGS = {
  run: { type: 'string', help: 'run directory (from `cmdcm train`)' },
  data: { type: 'string', help: 'dataset directory whose target pre-window clicks to score' },
  out: { type: 'string', help: 'CSV to write: user_id,item_id,time,p_direct,p_atc,p_transition,p_delayed' },
  checkpoint: { type: 'string', help: 'which parameters: best | latest (default: best)' },
  engine: { type: 'string', help: 'compute engine: native | cpu | tensorflow | cuda | auto (default: auto)' },
} satisfies Record<string, FlagSpec>;

export async function run(argv: string[]): Promise<number> {
  const { values, help } = parseFlags(argv, FLAGS);
  if (help) {
    process.stdout.write(helpText('predict', '--run RUN --data DIR --out preds.csv', FLAGS) + '\n');
    return 0;
  }
  const runDir = strFlag(values, 'run'), data = strFlag(values, 'data'), out = strFlag(values, 'out');
  if (!runDir) throw flagError('run', 'required: the run directory');
  if (!data) throw flagError('data', 'required: the dataset directory');
  if (!out) throw flagError('out', 'required: the CSV file to write');
  const ck = strFlag(values, 'checkpoint') ?? 'best';
  if (ck !== 'best' && ck !== 'latest') throw flagError('checkpoint', `expected best or latest, got '${ck}'`);
  // before the work: a bad --out must not cost a whole prediction
  checkOutFile(out, 'out');
  await ensureDir(dirname(out), 'directory of --out');
  const r = await predictRun({ run: runDir, data, out, engine: engineFlag(values), checkpoint: ck });
  process.stderr.write(`cmdcm predict: ${r.n} target pre-window clicks scored, written to ${out}\n`);
  return 0;
}
