import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { BIN } from './train-fixture.js';

/**
 * Ctrl-C during `cmdcm generate` (and `prepare`, the same helper): the command stops, removes its
 * temp files and leaves what was there before untouched. The signal is sent once the temp file
 * exists (a handshake on the file system, not a sleep), so the run is interrupted mid-write.
 */
const dir = mkdtempSync(join(tmpdir(), 'cmdcm-interrupt-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('SIGINT during generate: one line, exit 1, the earlier file intact, no temp file left', async () => {
  const out = join(dir, 'log.csv');
  writeFileSync(out, 'precious\n');
  // large enough to take seconds: the signal lands while users are generated
  const child = spawn(process.execPath, [BIN, 'generate', '--out', out, '--users', '400000', '--items', '2000'], {
    env: { ...process.env, CMDCM_LOG_LEVEL: 'silent' }, stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const temp = () => readdirSync(dir).filter((f) => f.startsWith('.log.csv.tmp-'));
  for (let i = 0; i < 600 && temp().length === 0; i++) await sleep(50);
  assert.equal(temp().length, 1, 'generate never started writing');
  child.kill('SIGINT');
  const code = await exited;
  assert.equal(code, 1, stderr);
  assert.match(stderr, /cmdcm generate: stopping/);
  assert.match(stderr, /generate: aborted; .*log\.csv is unchanged/);
  assert.deepEqual(temp(), []);
  assert.equal(readFileSync(out, 'utf8'), 'precious\n');
  assert.deepEqual(readdirSync(dir).filter((f) => f.endsWith('.promos.json')), []);
});
