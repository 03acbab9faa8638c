import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { train, evaluate, predict, CmdcmError } from '../../src/index.js';
import { trainRun } from '../../src/train/run.js';
import { evaluateRun } from '../../src/eval/evaluate.js';
import { isPlainData } from '../../src/workflows/off-thread.js';
import { smallSetup } from '../cli/train-fixture.js';

process.env.CMDCM_LOG_LEVEL = 'silent';
process.env.CMDCM_QUIET = '1';

const MODEL = { dim: 4, towerUnits: [8], attentionUnits: [4], gateUnits: 4 };
const TRAIN = { batchSize: 64, epochs: 1, maxSteps: 6, validEvery: 3, checkpointEvery: 0, seed: 2 };

test('train/evaluate/predict in a worker thread give what the same calls give on this thread; events, abort and errors cross over', async () => {
  const s = await smallSetup();
  try {
    const steps: number[] = [];
    let valids = 0, ended = 0;
    const off = await train({ data: s.data, model: 'cmdcm', out: join(s.dir, 'off'), modelConfig: MODEL, train: TRAIN, engine: 'cpu',
      on: { step: (e) => steps.push(e.step), valid: () => valids++, end: () => ended++ } });
    const here = await trainRun({ data: s.data, model: 'cmdcm', out: join(s.dir, 'here'), modelConfig: MODEL, train: TRAIN, engine: 'cpu' });
    assert.deepEqual(steps, [1, 2, 3, 4, 5, 6]);
    assert.equal(valids, 2);
    assert.equal(ended, 1);
    assert.equal(off.summary.steps, 6);
    assert.deepEqual(off.summary.best, here.summary.best);
    assert.deepEqual([...off.summary.state.params], [...here.summary.state.params], 'same trajectory in the worker');
    const losses = (dir: string) => readFileSync(join(dir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l)).filter((l) => l.type === 'step').map((l) => l.loss);
    assert.deepEqual(losses(join(s.dir, 'off')), losses(join(s.dir, 'here')));

    const progress: number[] = [];
    const evOff = await evaluate({ run: join(s.dir, 'off'), engine: 'cpu', write: false, onProgress: (done) => progress.push(done) });
    const evHere = await evaluateRun({ run: join(s.dir, 'here'), engine: 'cpu', write: false });
    assert.deepEqual(evOff.report.tasks, evHere.report.tasks);
    assert.ok(progress.length >= 1);
    const pr = await predict({ run: join(s.dir, 'off'), engine: 'cpu' });
    assert.equal(pr.n, evOff.report.n);

    // abort from the caller: training stops within a step and leaves a checkpoint
    const ac = new AbortController();
    const cut = await train({ data: s.data, model: 'cmdcm', out: join(s.dir, 'cut'), modelConfig: MODEL, train: { ...TRAIN, maxSteps: 1000, epochs: 50 }, engine: 'cpu', signal: ac.signal,
      on: { step: (e) => { if (e.step === 2) ac.abort(); } } });
    assert.equal(cut.summary.finished, 'interrupted');
    assert.ok(cut.summary.steps >= 2 && cut.summary.steps <= 3, `stopped at step ${cut.summary.steps}`);
    // a user error stays a CmdcmError with its exit code
    await assert.rejects(train({ data: join(s.dir, 'nope'), model: 'cmdcm', out: join(s.dir, 'x'), engine: 'cpu' }), (e: Error) => e instanceof CmdcmError && e.message.includes('nope'));
  } finally {
    rmSync(s.dir, { recursive: true, force: true });
  }
});

test('isPlainData: only plain objects, arrays and primitives cross to a worker', () => {
  assert.ok(isPlainData({ a: 1, b: ['x', { c: null }], d: undefined }));
  assert.ok(!isPlainData({ f: () => 1 }));
  assert.ok(!isPlainData({ m: new Map() }));
  assert.ok(!isPlainData({ d: new Float32Array(2) }));
});
