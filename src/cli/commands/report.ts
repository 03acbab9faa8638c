import { parseFlags, helpText, type FlagSpec } from '../args.js';
import { writeRunReport } from '../../report/run-report.js';

const FLAGS = {
  run: { type: 'string', multiple: true, help: 'run directory (repeat, or list runs after the flags, to draw several side by side)' },
  out: { type: 'string', help: 'output HTML file (default: RUN/report.html for one run)' },
  'no-reliability': { type: 'boolean', help: 'skip the reliability diagrams (they score the test split)' },
} satisfies Record<string, FlagSpec>;

/** `cmdcm report --run DIR [--run DIR2 ...] [--out FILE]`: a self-contained HTML page of the runs. */
export async function run(argv: string[]): Promise<number> {
  const { values, help, positionals } = parseFlags(argv, FLAGS, { positionals: true });
  if (help) {
    process.stdout.write(helpText('report', '--run DIR [--run DIR2 ...] [--out FILE]', FLAGS) + '\n');
    return 0;
  }
  const runs = [...((values.run as string[] | undefined) ?? []), ...positionals];
  const { path } = await writeRunReport({ runs, out: values.out as string | undefined, reliability: !values['no-reliability'], onProgress: (m) => process.stderr.write(`cmdcm report: ${m}\n`) });
  process.stdout.write(`${path}\n`);
  return 0;
}
