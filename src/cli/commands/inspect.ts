import { promises as fsp } from 'node:fs';
import { parseFlags, helpText, numFlag, type FlagSpec } from '../args.js';
import { CmdcmError } from '../../util/errors.js';
import { Progress } from '../../util/progress.js';
import { READ_FLAGS, readOptionsFromFlags } from '../flags/read.js';
import { formatDatasetMeta, formatLogSummary, readDatasetMeta, summarizeLogs } from '../../data/inspect.js';

const FLAGS = {
  ...READ_FLAGS,
  json: { type: 'boolean', help: 'print a machine-readable JSON summary instead of text' },
  'no-chart': { type: 'boolean', help: 'leave out the per-day bar chart' },
  width: { type: 'string', default: '20', help: 'bar width in characters' },
} satisfies Record<string, FlagSpec>;

const SYNOPSIS = 'FILE... | DATASET_DIR  (log files: .csv or .csv.gz in any supported format; a dataset directory holds meta.json)';

export async function run(argv: string[]): Promise<number> {
  const { values, positionals, help } = parseFlags(argv, FLAGS, { positionals: true });
  if (help) {
    process.stdout.write(helpText('inspect', SYNOPSIS, FLAGS) + '\n');
    return 0;
  }
  if (positionals.length === 0) throw new CmdcmError(`missing FILE or DIR\n${helpText('inspect', SYNOPSIS, FLAGS)}`, { exitCode: 2 });
  const json = values.json === true;
  const width = numFlag(values, 'width', { int: true, min: 1, max: 200 }) ?? 20;

  if (positionals.length === 1) {
    const st = await fsp.stat(positionals[0]).catch(() => undefined);
    if (st?.isDirectory()) {
      const dir = positionals[0];
      const meta = await readDatasetMeta(dir);
      if (!meta) throw new CmdcmError(`${dir}: no meta.json, so not a prepared dataset (an interrupted prepare leaves none); pass a dataset directory or log files`);
      process.stdout.write((json ? JSON.stringify(meta, null, 2) : formatDatasetMeta(dir, meta)) + '\n');
      return 0;
    }
  }
  const opts = readOptionsFromFlags(values);
  const progress = new Progress('reading', undefined, 'rows');
  const summary = await summarizeLogs(positionals, opts, (p) => progress.tick(p.rows, p.file));
  progress.done();
  process.stdout.write((json ? JSON.stringify(summary, null, 2) : formatLogSummary(summary, { chart: values['no-chart'] !== true, width })) + '\n');
  return 0;
}
