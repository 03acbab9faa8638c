/**
 * Shared by the reliability tests (issue 13): a tiny generated dataset and trained run, and the
 * checks every finding's test makes: one line on stderr, the expected exit code, no stack trace, no
 * temp file left behind, the user's files untouched.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync, writeFileSync, mkdtempSync, cpSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cmdcm, cmdcmIn, ok, type CliResult } from '../cli/train-fixture.js';

export { cmdcm, cmdcmIn, ok, type CliResult };

process.env.CMDCM_LOG_LEVEL = 'silent';

export const TINY_MODEL = { dim: 4, towerUnits: [8], attentionUnits: [4], gateUnits: 4, expertUnits: [8], experts: 2 };

/** generate → prepare into a fresh dir: { dir, log, data }. */
export async function tinyDataset(seqLen = 4): Promise<{ dir: string; log: string; data: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'cmdcm-rel-'));
  const log = join(dir, 'log.csv');
  ok(await cmdcmIn(['generate', '--out', log, '--truth', join(dir, 'truth.csv'), '--users', '40', '--items', '30', '--seed', '5']), 'generate');
  ok(await cmdcmIn(['prepare', '--log', log, '--promo', 'auto', '--out', join(dir, 'ds'), '--seq-len', String(seqLen)]), 'prepare');
  return { dir, log, data: join(dir, 'ds') };
}

/** A trained tiny run (esmm, one epoch, checkpoints every 3 steps) in `dir/name`. */
export async function tinyRun(dir: string, data: string, name = 'run', extra: string[] = []): Promise<{ run: string; config: string }> {
  const config = join(dir, `${name}.config.json`);
  writeFileSync(config, JSON.stringify({ model: TINY_MODEL, train: { batchSize: 128, epochs: 1, checkpointEvery: 3, validEvery: 3 } }));
  const run = join(dir, name);
  ok(await cmdcmIn(['train', '--data', data, '--model', 'esmm', '--out', run, '--config', config, ...extra]), `train ${name}`);
  return { run, config };
}

/** A copy of a directory tree (to damage one file of it). */
export function copyTree(src: string, dst: string): string {
  cpSync(src, dst, { recursive: true });
  return dst;
}

/**
 * A user error as the CLI must report it: exit `code`, exactly one stderr line (warnings aside)
 * starting `cmdcm <cmd>:` and matching `re`, no stack trace, no "internal error".
 */
export function assertUserError(r: CliResult, code: number, re: RegExp): string {
  const lines = r.stderr.split('\n').filter((l) => l.length > 0 && !l.startsWith('cmdcm: warning:'));
  assert.equal(r.code, code, `exit code (stderr: ${r.stderr})`);
  assert.equal(lines.length, 1, `one error line, got:\n${r.stderr}`);
  assert.match(lines[0], /^cmdcm [a-z]+: /);
  assert.match(lines[0], re);
  assertNoStack(r);
  return lines[0];
}

export function assertNoStack(r: CliResult): void {
  assert.doesNotMatch(r.stderr, /^\s+at /m, 'no stack trace');
  assert.doesNotMatch(r.stderr, /internal error/, 'not an internal error');
}

/** The warning lines of a run. */
export function warnings(r: CliResult): string[] {
  return r.stderr.split('\n').filter((l) => l.startsWith('cmdcm: warning:'));
}

/** Every path under `dir` (relative), for "nothing deleted" and "no temp left" checks. */
export function listTree(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string, rel: string) => {
    for (const e of readdirSync(d)) {
      const p = join(d, e), r = rel ? `${rel}/${e}` : e;
      out.push(r);
      if (statSync(p, { throwIfNoEntry: false })?.isDirectory()) walk(p, r);
    }
  };
  walk(dir, '');
  return out.sort();
}

export function assertNoTemps(dir: string): void {
  const temps = listTree(dir).filter((p) => /\.tmp-\d+-|\.stale-|cmdcm-lock$|\.cmdcm\.lock$/.test(p));
  assert.deepEqual(temps, [], 'no temp or lock file left behind');
}

/** Bytes of every file under `dir`, to show nothing changed. */
export function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const p of listTree(dir)) {
    const full = join(dir, p);
    if (statSync(full).isFile()) out[p] = readFileSync(full).toString('base64');
  }
  return out;
}

/** An error shaped like Node's own file-system errors (`ENOSPC: no space left on device, write`). */
export function errno(code: string, syscall: string, path?: string): NodeJS.ErrnoException {
  const e = new Error(`${code}: injected, ${syscall}${path ? ` '${path}'` : ''}`) as NodeJS.ErrnoException;
  e.code = code;
  e.syscall = syscall;
  if (path) e.path = path;
  return e;
}
