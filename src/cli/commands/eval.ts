import { parseFlags, helpText, strFlag, type FlagSpec } from '../args.js';
import { flagError } from '../../util/errors.js';
import { evaluateRun } from '../../eval/evaluate.js';
import { engineFlag } from '../flags/train.js';

const FLAGS = {
  run: { type: 'string', help: 'run directory (from `cmdcm train`)' },
  data: { type: 'string', help: "dataset directory (default: the run's own, from its config.json)" },
  checkpoint: { type: 'string', help: "which parameters: best (best validation logloss) | latest (default: best)" },
  json: { type: 'boolean', help: 'print the JSON report instead of the Markdown table' },
  engine: { type: 'string', help: 'compute engine: native | cpu | tensorflow | cuda | auto (default: auto)' },
} satisfies Record<string, FlagSpec>;

export async function run(argv: string[]): Promise<number> {
  const { values, help } = parseFlags(argv, FLAGS);
  if (help) {
    process.stdout.write(helpText('eval', '--run RUN [--data DIR]', FLAGS) + '\n');
    return 0;
  }
  const runDir = strFlag(values, 'run');
  if (!runDir) throw flagError('run', 'required: the run directory');
  const ck = strFlag(values, 'checkpoint') ?? 'best';
  if (ck !== 'best' && ck !== 'latest') throw flagError('checkpoint', `expected best or latest, got '${ck}'`);
  const { report, markdown } = await evaluateRun({ run: runDir, data: strFlag(values, 'data'), engine: engineFlag(values), checkpoint: ck });
  process.stdout.write(values.json ? JSON.stringify(report, null, 2) + '\n' : markdown);
  for (const w of report.warnings) process.stderr.write(`cmdcm eval: warning: ${w}\n`);
  return 0;
}
