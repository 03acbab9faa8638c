/**
 * Issue 13, finding 3 (hangs): evalBatchSize 0 in config.json spun eval/predict forever; a SIGSTOPped
 * worker process made the coordinator wait forever; `--out /proc/ds` spun in a recursive mkdir.
 * Each is now a one-line error, quickly.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FaultInjection } from '../../src/parallel/worker-core.js';
import { shmSkip } from '../parallel/helpers.js';
import { runChild } from '../parallel/child-run.js';
import { predictColumns, predictColumnsAsync } from '../../src/train/columns.js';
import { assertNoTemps, assertUserError, cmdcm, cmdcmIn, copyTree, snapshot, tinyDataset, tinyRun } from './helpers.js';

const S = await tinyDataset();
after(() => rmSync(S.dir, { recursive: true, force: true }));
const { run } = await tinyRun(S.dir, S.data);

test('evalBatchSize 0, negative, a string or a fraction in config.json: eval and predict stop with the file and key named', async () => {
  for (const v of [0, -3, 'abc', 1.5, null]) {
    const r = copyTree(run, join(S.dir, `ebs-${String(v)}`));
    const cfgPath = join(r, 'config.json');
    const cfg = JSON.parse(readFileSync(cfgPath, 'utf8'));
    cfg.train.evalBatchSize = v;
    writeFileSync(cfgPath, JSON.stringify(cfg));
    const before = snapshot(r);
    const want = new RegExp(`${cfgPath.replace(/[.]/g, '\\.')}: "train": "evalBatchSize" must be`);
    assertUserError(await cmdcmIn(['eval', '--run', r]), 1, want);
    assertUserError(await cmdcmIn(['predict', '--run', r, '--data', S.data, '--out', join(S.dir, 'p.csv')]), 1, want);
    assert.deepEqual(snapshot(r), before);
  }
  // the library's own guard below the config: a batch size of 0 never loops
  assert.throws(() => predictColumns({} as never, new Float32Array(0), new Float32Array(0), {} as never, { n: 5 } as never, 0), /batchSize must be a positive integer/);
  // and its yielding twin (validation, Predictor.predictAsync) the same
  await assert.rejects(predictColumnsAsync({} as never, new Float32Array(0), new Float32Array(0), {} as never, { n: 5 } as never, 0), /predictColumnsAsync: batchSize must be a positive integer/);
});

test('--out under /proc: prepare, train and predict fail at once with the path named (no spinning mkdir)', async () => {
  assertUserError(cmdcm(['prepare', '--log', S.log, '--promo', 'auto', '--out', '/proc/cmdcm-ds']), 1, /\/proc\/cmdcm-ds: cannot create .*does not accept new (files|directories)/);
  assertUserError(cmdcm(['prepare', '--log', S.log, '--promo', 'auto', '--out', '/proc/x/y/ds']), 1, /\/proc\/x\/y: cannot create the parent directory of --out: \/proc does not accept new directories/);
  assertUserError(await cmdcmIn(['train', '--data', S.data, '--model', 'esmm', '--out', '/proc/cmdcm-run']), 1, /\/proc\/cmdcm-run: cannot create the run directory: \/proc does not accept new directories/);
  assertUserError(await cmdcmIn(['predict', '--run', run, '--data', S.data, '--out', '/proc/cmdcm/p.csv']), 1, /\/proc\/cmdcm: cannot create the directory of --out: \/proc does not accept new directories/);
  assertNoTemps(S.dir);
});

const noShm = await shmSkip();

test('a worker process stopped with SIGSTOP: after the heartbeat timeout the coordinator stops with its name and step', { skip: noShm }, async () => {
  const runDir = mkdtempSync(join(tmpdir(), 'cmdcm-rel-stop-'));
  try {
    const fault: FaultInjection = { worker: 1, step: 4, kind: 'stop' };
    const r = await runChild({ runDir, workers: 2, transport: 'process', maxSteps: 20, checkpointEvery: 2, fault, heartbeatTimeoutMs: 1500 });
    assert.equal(r.code, 1, `exit code (stderr: ${r.stderr})`);
    assert.match(r.stderr, /worker 1 \(pid \d+\) is stopped \(SIGSTOP\?\) and sent no heartbeat for \d+\.\d s at step 4/);
    assert.equal(r.stderr.trim().split('\n').length, 1);
    // the stopped worker was killed, not left behind
    for (const pid of r.lines.at(-1)!.pids as number[]) assert.throws(() => process.kill(pid, 0), /ESRCH/);
  } finally {
    rmSync(runDir, { recursive: true, force: true });
  }
});
