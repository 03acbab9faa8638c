/**
 * Issue 13, finding 2 (no lock on a run directory): two `train --out run` at once both exited 0 and
 * mixed their checkpoints and metrics. Now a run directory (and a dataset being replaced) has one
 * writer: the second process gets a one-line error naming the holder; a crashed holder's lock is
 * taken over, never left stuck.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { readCheckpoint } from '../../src/train/checkpoint.js';
import { BIN } from '../cli/train-fixture.js';
import { assertNoTemps, assertUserError, cmdcmIn, ok, snapshot, tinyDataset, tinyRun, TINY_MODEL, type CliResult } from './helpers.js';

const S = await tinyDataset();
after(() => rmSync(S.dir, { recursive: true, force: true }));
const config = join(S.dir, 'cfg.json');
writeFileSync(config, JSON.stringify({ model: TINY_MODEL, train: { batchSize: 128, epochs: 2, checkpointEvery: 2 } }));

function cmdcmAsync(args: string[]): { done: Promise<CliResult>; pid: number; kill(sig: NodeJS.Signals): void } {
  const c = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, CMDCM_LOG_LEVEL: 'silent' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '', err = '';
  c.stdout.on('data', (d) => (out += d));
  c.stderr.on('data', (d) => (err += d));
  const done = new Promise<CliResult>((res) => c.on('close', (code) => res({ code: code ?? -1, stdout: out, stderr: err })));
  return { done, pid: c.pid!, kill: (s) => c.kill(s) };
}

function startTime(pid: number): string {
  const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return s.slice(s.lastIndexOf(')') + 2).split(' ')[19];
}

test('two trains into one --out at once: exactly one trains, the other exits 1 naming the holder; the run is one seed', async () => {
  const run = join(S.dir, 'race');
  const a = cmdcmAsync(['train', '--data', S.data, '--model', 'esmm', '--out', run, '--config', config, '--seed', '1']);
  const b = cmdcmAsync(['train', '--data', S.data, '--model', 'esmm', '--out', run, '--config', config, '--seed', '2']);
  const [ra, rb] = await Promise.all([a.done, b.done]);
  const codes = [ra.code, rb.code].sort();
  assert.deepEqual(codes, [0, 1], `exit codes (stderr a: ${ra.stderr}; b: ${rb.stderr})`);
  const loser = ra.code === 1 ? ra : rb;
  assertUserError(loser, 1, /(is in use by another cmdcm process \(pid \d+|already holds a run)/);
  const seed = JSON.parse(readFileSync(join(run, 'config.json'), 'utf8')).train.seed;
  for (const f of ['ckpt-latest.cmck', 'ckpt-prev.cmck', 'best.cmck']) {
    assert.equal((await readCheckpoint(join(run, f))).meta.trainConfig.seed, seed, `${f} is of the winning run`);
  }
  const steps = readFileSync(join(run, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l)).filter((o) => o.type === 'step').map((o) => o.step);
  assert.deepEqual(steps, [...new Set(steps)], 'each step logged once');
  assertNoTemps(run);
});

test('a lock held by a live process: train and prepare refuse on one line, touching nothing', async (t) => {
  const sleeper = spawn('sleep', ['60']);
  t.after(() => sleeper.kill('SIGKILL'));
  const owner = { pid: sleeper.pid, host: hostname(), start: startTime(sleeper.pid!), nonce: 'x', since: '2026-01-01T00:00:00Z', cmd: 'train --out held' };
  const run = join(S.dir, 'held');
  mkdirSync(run);
  writeFileSync(join(run, '.cmdcm.lock'), JSON.stringify(owner));
  const before = snapshot(run);
  assertUserError(await cmdcmIn(['train', '--data', S.data, '--model', 'esmm', '--out', run, '--config', config]), 1,
    new RegExp(`run directory .*held is in use by another cmdcm process \\(pid ${sleeper.pid}, since .*: cmdcm train --out held\\); wait for it to finish`));
  assert.deepEqual(snapshot(run), before);

  const ds = join(S.dir, 'ds-held');
  ok(await cmdcmIn(['prepare', '--log', S.log, '--promo', 'auto', '--out', ds]), 'prepare');
  writeFileSync(join(S.dir, '.ds-held.cmdcm-lock'), JSON.stringify(owner));
  const dsBefore = snapshot(ds);
  assertUserError(await cmdcmIn(['prepare', '--log', S.log, '--promo', 'auto', '--out', ds]), 1, /dataset directory .*ds-held is in use by another cmdcm process/);
  assert.deepEqual(snapshot(ds), dsBefore);
  rmSync(join(S.dir, '.ds-held.cmdcm-lock'));
});

test('a stale lock (dead pid, or a reused pid that started later) is taken over and removed at the end', async () => {
  const dead = spawnSync('true').pid!;
  for (const [name, owner] of [
    ['stale-dead', { pid: dead, host: hostname(), start: null, nonce: 'x', since: 'then', cmd: '' }],
    ['stale-reused', { pid: process.pid, host: hostname(), start: '1', nonce: 'x', since: 'then', cmd: '' }],
    ['stale-garbage', null],
  ] as const) {
    const run = join(S.dir, name);
    mkdirSync(run);
    writeFileSync(join(run, '.cmdcm.lock'), owner ? JSON.stringify(owner) : 'garbage');
    if (!owner) {
      // a half-written lock counts as stale once it is older than a moment
      const old = new Date(Date.now() - 60_000);
      (await import('node:fs')).utimesSync(join(run, '.cmdcm.lock'), old, old);
    }
    ok(await cmdcmIn(['train', '--data', S.data, '--model', 'esmm', '--out', run, '--config', config, '--max-steps', '2']), `train over ${name}`);
    assert.ok(!existsSync(join(run, '.cmdcm.lock')), `${name}: lock released`);
    assertNoTemps(run);
  }
});

test('a train killed with SIGKILL leaves its lock; --resume takes it over and finishes', async () => {
  const run = join(S.dir, 'killed');
  const long = join(S.dir, 'long.json');
  writeFileSync(long, JSON.stringify({ model: TINY_MODEL, train: { batchSize: 16, epochs: 30, checkpointEvery: 2 } }));
  const c = cmdcmAsync(['train', '--data', S.data, '--model', 'esmm', '--out', run, '--config', long]);
  while (!existsSync(join(run, 'ckpt-latest.cmck'))) await new Promise((r) => setTimeout(r, 20));
  c.kill('SIGKILL');
  await c.done;
  assert.ok(existsSync(join(run, '.cmdcm.lock')), 'the killed process left its lock');
  ok(await cmdcmIn(['train', '--data', S.data, '--model', 'esmm', '--out', run, '--resume', '--max-steps', '12']), 'resume');
  assertNoTemps(run);
});

test('train --out into a non-empty directory that is not a run is refused; nothing is written there', async () => {
  const d = join(S.dir, 'docs');
  mkdirSync(d);
  writeFileSync(join(d, 'metrics.jsonl'), 'my own file\n');
  const before = snapshot(d);
  assertUserError(await cmdcmIn(['train', '--data', S.data, '--model', 'esmm', '--out', d, '--config', config]), 2, /docs is a non-empty directory that is not a cmdcm run/);
  assert.deepEqual(snapshot(d), before);
  const { run } = await tinyRun(S.dir, S.data, 'fine');
  assert.ok(existsSync(join(run, 'config.json')));
});

test('a reader (predict --checkpoint latest) falls back to ckpt-prev past a bad latest but does not move the run\'s files', async () => {
  const { run } = await tinyRun(S.dir, S.data, 'reader');
  writeFileSync(join(run, 'ckpt-latest.cmck'), 'not a checkpoint');
  const r = await cmdcmIn(['predict', '--run', run, '--data', S.data, '--out', join(S.dir, 'reader.csv'), '--checkpoint', 'latest']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /ckpt-latest\.cmck: not a cmdcm checkpoint .*; using the previous checkpoint/);
  assert.equal(readFileSync(join(run, 'ckpt-latest.cmck'), 'utf8'), 'not a checkpoint', 'left in place for the run\'s writer');
  assert.ok(!existsSync(join(run, 'ckpt-latest.cmck.corrupt')));
});
