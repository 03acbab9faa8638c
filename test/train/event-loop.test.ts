import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Trainer } from '../../src/train/trainer.js';
import { DEFAULT_TRAIN_CONFIG, mergeTrainConfig } from '../../src/train/config.js';
import { predictColumnsAsync } from '../../src/train/columns.js';
import { synthColumns, tinyModel, tinySchema } from './fixtures.js';

process.env.CMDCM_LOG_LEVEL = 'silent';

// No timing here (a shared CI machine makes wall-clock bounds flaky): each test schedules work on
// the event loop (setImmediate, a macrotask) from inside a step or pass, and checks it ran before
// the next one. Before the trainer yielded, such a task ran only after the whole run.
const schema = tinySchema();
const train = synthColumns(schema, 400, 21);
const valid = synthColumns(schema, 200, 22);
const cfg = (over = {}) => mergeTrainConfig(DEFAULT_TRAIN_CONFIG, { epochs: 3, batchSize: 20, seed: 3, patience: 0, checkpointEvery: 0, validEvery: 0, ...over });

test('training on the caller thread lets the event loop turn every step: abort() from a macrotask stops it before the next step', async () => {
  const ac = new AbortController();
  const t = new Trainer({ model: tinyModel(schema), schema, train, valid, config: cfg(), signal: ac.signal });
  const steps: number[] = [];
  let ticks = 0;
  t.on('step', (e) => {
    steps.push(e.step);
    setImmediate(() => { ticks++; if (e.step === 7) ac.abort(); });
  });
  const s = await t.run();
  assert.equal(s.finished, 'interrupted');
  assert.equal(s.steps, 7, 'stopped within one step of the abort');
  assert.deepEqual(steps, [1, 2, 3, 4, 5, 6, 7]);
  assert.equal(ticks, 7, 'every step gave the event loop a turn');
});

test('abort during validation ends training at once with a final checkpoint, without recording that validation', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'cmdcm-evloop-'));
  try {
    const ac = new AbortController();
    // validation every 5 steps over 200 samples in passes of 10: abort after its first pass
    const t = new Trainer({ model: tinyModel(schema), schema, train, valid, config: cfg({ validEvery: 5, evalBatchSize: 10 }), signal: ac.signal, runDir: dir });
    let valids = 0;
    t.on('valid', () => valids++);
    t.on('step', (e) => { if (e.step === 5) setImmediate(() => ac.abort()); });
    const s = await t.run();
    assert.equal(s.finished, 'interrupted');
    assert.equal(s.steps, 5);
    assert.equal(valids, 0, 'the interrupted validation is not reported');
    const lines = readFileSync(join(dir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    assert.equal(lines.filter((l) => l.type === 'step').length, 5);
    for (const l of lines) assert.ok(!Number.isNaN(Date.parse(l.time)), `a timestamp on every line: ${JSON.stringify(l).slice(0, 80)}`);
    assert.equal(lines.at(-1).type, 'end');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('predictColumnsAsync yields between forward passes, reports progress and stops within one pass of an abort', async () => {
  const model = tinyModel(schema);
  const params = model.initParams(1);
  const table = new Float32Array(schema.tableRows * model.dim).fill(0.01);
  const progress: number[] = [];
  let ticks = 0;
  const ac = new AbortController();
  await assert.rejects(predictColumnsAsync(model, params, table, schema, valid, 30, {
    signal: ac.signal,
    onProgress: (done, total) => {
      assert.equal(total, 200);
      progress.push(done);
      setImmediate(() => { ticks++; if (done === 90) ac.abort(); });
    },
  }), { name: 'AbortError' });
  assert.deepEqual(progress, [30, 60, 90]);
  assert.equal(ticks, 3);
  // and unaborted, the same numbers as one synchronous pass
  const all = await predictColumnsAsync(model, params, table, schema, valid, 30);
  const sync = model.predict(params, table, valid);
  assert.deepEqual(all.atc, sync.atc);
});
