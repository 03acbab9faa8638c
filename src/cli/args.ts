import { parseArgs, type ParseArgsConfig } from 'node:util';
import { flagError } from '../util/errors.js';
import { didYouMean } from '../util/suggest.js';

/**
 * Thin wrapper over node:util parseArgs: strict flags, `--help` text from the same table, and
 * typed number parsing with errors that name the flag.
 */
export type FlagSpec = {
  type: 'string' | 'boolean';
  multiple?: boolean;
  short?: string;
  default?: string | boolean | string[];
  help: string;
};

export function parseFlags<T extends Record<string, FlagSpec>>(argv: string[], spec: T, opts: { positionals?: boolean } = {}) {
  const options: NonNullable<ParseArgsConfig['options']> = {};
  for (const [k, v] of Object.entries(spec)) {
    // parseArgs rejects keys present with an undefined value (e.g. `short: undefined`)
    const o: Record<string, unknown> = { type: v.type };
    if (v.multiple !== undefined) o.multiple = v.multiple;
    if (v.short !== undefined) o.short = v.short;
    if (v.default !== undefined) o.default = v.default;
    options[k] = o as never;
  }
  options.help = { type: 'boolean', short: 'h' };
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options, allowPositionals: opts.positionals ?? false, strict: true });
  } catch (e) {
    // node's message names the flag but suggests nothing: add the closest flag of this command
    const err = e as NodeJS.ErrnoException;
    const m = err.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' ? /'(-{1,2})([^']+)'/.exec(err.message) : null;
    if (m) throw flagError(m[2], `unknown flag for this command${didYouMean(m[2], Object.keys(spec), '--')}; see --help`);
    // node's three-line explanation of `--flag -1`, as one line saying how to write it
    const amb = err.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE' ? /^Option '--([^']+)' argument is ambiguous/.exec(err.message) : null;
    if (amb) throw flagError(amb[1], `a value starting with '-' must be written --${amb[1]}=VALUE`);
    throw e;
  }
  const { values, positionals } = parsed;
  return { values: values as Record<string, string | boolean | string[] | undefined>, positionals, help: Boolean(values.help) };
}

export function helpText(command: string, synopsis: string, spec: Record<string, FlagSpec>): string {
  const rows = Object.entries(spec).map(([k, v]) => {
    const flag = `--${k}${v.type === 'string' ? ' <v>' : ''}`;
    const def = v.default !== undefined && v.default !== false ? ` (default: ${v.default})` : '';
    return [flag, v.help + def];
  });
  const w = Math.max(0, ...rows.map((r) => r[0].length));
  return [`usage: cmdcm ${command} ${synopsis}`, '', ...rows.map(([a, b]) => `  ${a.padEnd(w)}  ${b}`)].join('\n');
}

export function numFlag(values: Record<string, unknown>, name: string, opts: { int?: boolean; min?: number; max?: number } = {}): number | undefined {
  const raw = values[name];
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (raw === '' || !Number.isFinite(n)) throw flagError(name, `expected a number, got '${raw}'`);
  if (opts.int && !Number.isInteger(n)) throw flagError(name, `expected an integer, got '${raw}'`);
  if (opts.min !== undefined && n < opts.min) throw flagError(name, `must be >= ${opts.min}, got ${n}`);
  if (opts.max !== undefined && n > opts.max) throw flagError(name, `must be <= ${opts.max}, got ${n}`);
  return n;
}

export function strFlag(values: Record<string, unknown>, name: string): string | undefined {
  const v = values[name];
  return typeof v === 'string' ? v : undefined;
}
