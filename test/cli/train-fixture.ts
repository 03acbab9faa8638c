/** Shared setup for the CLI tests: a small generated log, prepared, and a tiny model config. */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { main } from '../../src/cli/main.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
export const BIN = join(ROOT, 'bin', 'cmdcm.js');

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export function cmdcm(args: string[], cwd?: string): CliResult {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd, encoding: 'utf8', env: { ...process.env, CMDCM_LOG_LEVEL: 'silent', CMDCM_NO_PROGRESS: '1' }, timeout: 120_000 });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/**
 * Run the CLI in this process (no tfjs start-up per call): stdout/stderr captured, exit code as
 * main() returns it.
 */
export async function cmdcmIn(args: string[]): Promise<CliResult> {
  process.env.CMDCM_LOG_LEVEL = 'silent';
  process.env.CMDCM_NO_PROGRESS = '1';
  const out: string[] = [], err: string[] = [];
  const ow = process.stdout.write, ew = process.stderr.write;
  // Only strings are captured: the test runner's own reporter streams Buffers through stdout while
  // the command runs, and swallowing those would lose test results.
  const grab = (sink: string[], orig: typeof ow, stream: NodeJS.WriteStream) =>
    ((c: string | Uint8Array, ...rest: unknown[]) => (typeof c === 'string' ? (sink.push(c), true) : (orig as (...a: unknown[]) => boolean).call(stream, c, ...rest))) as typeof ow;
  process.stdout.write = grab(out, ow, process.stdout);
  process.stderr.write = grab(err, ew, process.stderr);
  let code: number;
  try {
    code = await main(args);
  } finally {
    process.stdout.write = ow;
    process.stderr.write = ew;
  }
  return { code, stdout: out.join(''), stderr: err.join('') };
}

export function ok(r: CliResult, what: string): CliResult {
  if (r.code !== 0) throw new Error(`${what} exited ${r.code}: ${r.stderr}`);
  return r;
}

/** generate (tiny) → prepare; returns the work dir with log.csv, truth.csv, ds/ and small.json. */
export async function smallSetup(seqLen = 5): Promise<{ dir: string; data: string; truth: string; config: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'cmdcm-cli-'));
  ok(await cmdcmIn(['generate', '--out', join(dir, 'log.csv'), '--truth', join(dir, 'truth.csv'), '--users', '60', '--items', '50', '--seed', '3']), 'generate');
  ok(await cmdcmIn(['prepare', '--log', join(dir, 'log.csv'), '--promo', 'auto', '--out', join(dir, 'ds'), '--seq-len', String(seqLen)]), 'prepare');
  const config = join(dir, 'small.json');
  writeFileSync(config, JSON.stringify({ model: { dim: 4, towerUnits: [8], attentionUnits: [4], gateUnits: 4, expertUnits: [8], experts: 2 }, train: { batchSize: 256, epochs: 1, checkpointEvery: 4 } }));
  return { dir, data: join(dir, 'ds'), truth: join(dir, 'truth.csv'), config };
}
