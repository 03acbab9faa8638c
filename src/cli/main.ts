import { CmdcmError } from '../util/errors.js';
import { describeFsError } from '../util/fs-errors.js';
import { printable } from '../util/printable.js';
import { didYouMean } from '../util/suggest.js';

/**
 * `cmdcm <command> [flags]`. Each command lives in ./commands/<name>.ts and exports
 * `run(argv): Promise<number | void>` (the exit code) and is loaded only when invoked, so
 * `cmdcm inspect` never pays for loading tfjs.
 */
export const COMMANDS: Record<string, string> = {
  demo: 'generate a dataset, prepare it, train and compare models, print the table',
  generate: 'write a synthetic pre-promotion log (Tianchi 2014 format) and its ground truth',
  prepare: 'turn behavior logs into a dataset directory of binary sample shards',
  inspect: 'summarize a log file or a dataset: counts, date range, per-day bar chart',
  train: 'train a model on a prepared dataset',
  eval: 'evaluate a trained run on its dataset\'s target pre-window',
  predict: 'write per-click predictions of a trained run as CSV',
  compare: 'train several models on one dataset and print one comparison table',
  report: 'write a self-contained HTML page of runs: loss curves, validation, metrics, reliability',
  bench: 'benchmarks: `bench kernels`, `bench step` (JSON lines)',
};

export function usage(): string {
  const w = Math.max(...Object.keys(COMMANDS).map((k) => k.length));
  return ['usage: cmdcm <command> [flags]   (cmdcm <command> --help for its flags)', '', 'commands:',
    ...Object.entries(COMMANDS).map(([k, v]) => `  ${k.padEnd(w)}  ${v}`), '',
    'every command also takes --quiet (no progress or warnings), --log-level LEVEL, --json-logs (JSON log lines on stderr)'].join('\n');
}

/**
 * Flags every command takes, anywhere on the line: `--quiet` (no progress lines, no human
 * warnings), `--log-level LEVEL` (the stderr logger's level: JSON lines at and above it), and
 * `--json-logs` (the stderr logger at info: machine-readable lines for CI). They set the
 * environment the rest of cmdcm reads (CMDCM_QUIET, CMDCM_NO_PROGRESS, CMDCM_LOG_LEVEL).
 */
const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];
export function takeGlobalFlags(argv: string[]): string[] {
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--') { rest.push(...argv.slice(i)); break; }
    if (a === '--quiet') { process.env.CMDCM_QUIET = '1'; process.env.CMDCM_NO_PROGRESS = '1'; continue; }
    if (a === '--json-logs') { process.env.CMDCM_LOG_LEVEL ??= 'info'; continue; }
    if (a === '--log-level' || a.startsWith('--log-level=')) {
      const v = a.includes('=') ? a.slice(a.indexOf('=') + 1) : argv[++i];
      if (v === undefined || !LOG_LEVELS.includes(v)) throw new CmdcmError(`--log-level: expected one of ${LOG_LEVELS.join(', ')}, got ${v === undefined ? 'nothing' : `'${printable(v)}'`}`, { exitCode: 2, code: 'ERR_CMDCM_FLAG' });
      process.env.CMDCM_LOG_LEVEL = v;
      continue;
    }
    rest.push(a);
  }
  return rest;
}

export async function main(argv: string[]): Promise<number> {
  try {
    argv = takeGlobalFlags(argv);
  } catch (e) {
    process.stderr.write(`cmdcm: ${(e as Error).message}\n`);
    return 2;
  }
  const [cmd, ...rest] = argv;
  if (!cmd || cmd === '--help' || cmd === '-h' || cmd === 'help') {
    process.stdout.write(usage() + '\n');
    return cmd ? 0 : 2;
  }
  if (cmd === '--version' || cmd === '-v') {
    const { createRequire } = await import('node:module');
    const pkg = createRequire(import.meta.url)('../../../package.json') as { version: string };
    process.stdout.write(pkg.version + '\n');
    return 0;
  }
  if (!(cmd in COMMANDS)) {
    process.stderr.write(`cmdcm: unknown command '${printable(cmd)}'${didYouMean(cmd, Object.keys(COMMANDS))}\n\n${usage()}\n`);
    return 2;
  }
  try {
    const mod = (await import(`./commands/${cmd}.js`)) as { run(argv: string[]): Promise<number | void> };
    return (await mod.run(rest)) ?? 0;
  } catch (e) {
    // a CmdcmError thrown in a worker thread arrives as a plain Error with its name (structured clone)
    if (e instanceof CmdcmError || (e instanceof Error && e.name === 'CmdcmError')) {
      // one line, control bytes escaped; only a usage block cmdcm appends itself keeps its lines
      const u = e.message.indexOf('\nusage: cmdcm ');
      const msg = u < 0 ? printable(e.message) : printable(e.message.slice(0, u)) + e.message.slice(u);
      process.stderr.write(`cmdcm ${cmd}: ${msg}${debugStack(e)}\n`);
      const code = (e as Partial<CmdcmError>).exitCode;
      return typeof code === 'number' ? code : 1;
    }
    const err = e as NodeJS.ErrnoException;
    if (err && (err.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' || err.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE' || err.code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL')) {
      process.stderr.write(`cmdcm ${cmd}: ${err.message}\n`);
      return 2;
    }
    // a file-system error no caller turned into a CmdcmError is still the user's situation (full
    // disk, permissions), not a bug: one line naming the path
    const fs = describeFsError(e);
    if (fs) {
      process.stderr.write(`cmdcm ${cmd}: ${printable(fs)}${debugStack(e)}\n`);
      return 1;
    }
    // a bug: one line unless CMDCM_DEBUG=1 asks for the stack
    process.stderr.write(`cmdcm ${cmd}: internal error: ${oneLine(e)}${debugStack(e) || ' (set CMDCM_DEBUG=1 for the stack trace)'}\n`);
    return 70;
  }
}

function oneLine(e: unknown): string {
  const m = e instanceof Error ? `${e.name === 'Error' ? '' : e.name + ': '}${e.message}` : String(e);
  return printable(m);
}

function debugStack(e: unknown): string {
  return process.env.CMDCM_DEBUG === '1' && e instanceof Error && e.stack ? `\n${e.stack}` : '';
}
