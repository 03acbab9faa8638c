import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, readFileSync, existsSync, truncateSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Trainer } from '../../src/train/trainer.js';
import { DEFAULT_TRAIN_CONFIG, mergeTrainConfig, type TrainConfigInput } from '../../src/train/config.js';
import { initTrainState, type TrainState } from '../../src/train/state.js';
import { trainStep, stepHyper, NonFiniteLossError } from '../../src/train/step.js';
import { readCheckpoint, CKPT_LATEST, CKPT_PREV, CKPT_BEST } from '../../src/train/checkpoint.js';
import { CmdcmError } from '../../src/util/errors.js';
import { tinyModel, tinySchema, synthColumns } from './fixtures.js';

process.env.CMDCM_LOG_LEVEL = 'silent';
process.env.CMDCM_QUIET = '1';

const schema = tinySchema();
const train = synthColumns(schema, 300, 11, { delayedMasked: true });
const valid = synthColumns(schema, 120, 12);

function cfg(over: TrainConfigInput = {}) {
  return mergeTrainConfig(DEFAULT_TRAIN_CONFIG, { epochs: 3, batchSize: 32, seed: 7, checkpointEvery: 5, patience: 0, schedule: { lr: 0.05, warmupSteps: 3 }, ...over });
}

function tmp(): string {
  return mkdtempSync(join(tmpdir(), 'cmdcm-train-'));
}

function assertSameState(a: TrainState, b: TrainState) {
  for (const k of ['params', 'm', 'v', 'table', 'tableM', 'tableV'] as const) {
    assert.equal(a[k].length, b[k].length, k);
    assert.ok(Buffer.from(a[k].buffer, a[k].byteOffset, a[k].byteLength).equals(Buffer.from(b[k].buffer, b[k].byteOffset, b[k].byteLength)), `${k} differs`);
  }
  assert.equal(a.step, b.step);
  assert.equal(a.epoch, b.epoch);
  assert.deepEqual(a.rng, b.rng);
  assert.deepEqual(a.best, b.best);
}

test('training lowers the train loss and the validation logloss', async () => {
  const model = tinyModel(schema);
  const t = new Trainer({ model, schema, train, valid, config: cfg({ epochs: 4 }) });
  const losses: number[] = [];
  const valids: number[] = [];
  t.on('step', (e) => losses.push(e.loss));
  t.on('valid', (e) => valids.push(e.metric));
  const s = await t.run();
  assert.equal(s.steps, 4 * Math.ceil(300 / 32));
  assert.equal(s.finished, 'epochs');
  assert.equal(valids.length, 4);
  const first = losses.slice(0, 5).reduce((a, b) => a + b) / 5, last = losses.slice(-5).reduce((a, b) => a + b) / 5;
  assert.ok(last < first * 0.9, `loss ${first} -> ${last}`);
  assert.ok(valids[3] < valids[0], `valid ${valids}`);
});

test('same seed gives bit-identical parameters; another seed does not', async () => {
  const run = async (seed: number) => (await new Trainer({ model: tinyModel(schema), schema, train, valid, config: cfg({ seed }) }).run()).state;
  const a = await run(7), b = await run(7), c = await run(8);
  assertSameState(a, b);
  assert.notDeepEqual(Array.from(a.params), Array.from(c.params));
});

test('resume after an interruption ends with the same parameters as an uninterrupted run', async () => {
  const full = await new Trainer({ model: tinyModel(schema), schema, train, valid, config: cfg() }).run();
  for (const stopAt of [13, 10 /* epoch boundary: 10 batches per epoch */, 4]) {
    const dir = tmp();
    try {
      const first = await new Trainer({ model: tinyModel(schema), schema, train, valid, config: cfg({ maxSteps: stopAt }), runDir: dir }).run();
      assert.equal(first.finished, 'max-steps');
      assert.equal(first.steps, stopAt);
      const resumed = await new Trainer({ model: tinyModel(schema), schema, train, valid, config: cfg(), runDir: dir, resume: true }).run();
      assert.equal(resumed.resumedFrom, stopAt);
      assertSameState(resumed.state, full.state);
      // the final checkpoint holds the final state too
      assertSameState((await readCheckpoint(join(dir, CKPT_LATEST))).state, full.state);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
});

test('an abort signal stops after the current step with a checkpoint that resumes exactly', async () => {
  const full = await new Trainer({ model: tinyModel(schema), schema, train, config: cfg() }).run();
  const dir = tmp();
  try {
    const ac = new AbortController();
    const t = new Trainer({ model: tinyModel(schema), schema, train, config: cfg(), runDir: dir, signal: ac.signal });
    t.on('step', (e) => e.step === 17 && ac.abort());
    const s = await t.run();
    assert.equal(s.finished, 'interrupted');
    assert.equal(s.steps, 17);
    const r = await new Trainer({ model: tinyModel(schema), schema, train, config: cfg(), runDir: dir, resume: true }).run();
    assertSameState(r.state, full.state);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a truncated latest checkpoint falls back to the previous one and still resumes exactly', async () => {
  const full = await new Trainer({ model: tinyModel(schema), schema, train, valid, config: cfg() }).run();
  const dir = tmp();
  try {
    await new Trainer({ model: tinyModel(schema), schema, train, valid, config: cfg({ maxSteps: 12 }), runDir: dir }).run();
    // checkpoints at 5, 10 and the final one at 12: prev = step 10
    assert.equal((await readCheckpoint(join(dir, CKPT_PREV))).state.step, 10);
    const latest = join(dir, CKPT_LATEST);
    truncateSync(latest, Math.floor(statSync(latest).size / 2));
    await assert.rejects(readCheckpoint(latest), (e: Error) => e instanceof CmdcmError && /truncated/.test(e.message) && e.message.includes(latest));
    const r = await new Trainer({ model: tinyModel(schema), schema, train, valid, config: cfg(), runDir: dir, resume: true }).run();
    assert.equal(r.resumedFrom, 10);
    assertSameState(r.state, full.state);
    assert.ok(existsSync(latest + '.corrupt'), 'bad latest kept aside');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('both checkpoints unusable → a clear error naming them', async () => {
  const dir = tmp();
  try {
    await new Trainer({ model: tinyModel(schema), schema, train, config: cfg({ maxSteps: 12 }), runDir: dir }).run();
    for (const f of [CKPT_LATEST, CKPT_PREV]) truncateSync(join(dir, f), 100);
    await assert.rejects(new Trainer({ model: tinyModel(schema), schema, train, config: cfg(), runDir: dir, resume: true }).run(),
      (e: Error) => e instanceof CmdcmError && e.message.includes(CKPT_LATEST) && e.message.includes(CKPT_PREV));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('resuming with another model or schema is refused', async () => {
  const dir = tmp();
  try {
    await new Trainer({ model: tinyModel(schema), schema, train, config: cfg({ maxSteps: 3 }), runDir: dir }).run();
    await assert.rejects(new Trainer({ model: tinyModel(schema, 4, { name: 'esmm' }), schema, train, config: cfg(), runDir: dir, resume: true }).run(),
      (e: Error) => e instanceof CmdcmError && /model 'dnn', not 'esmm'/.test(e.message));
    const other = tinySchema(80);
    await assert.rejects(new Trainer({ model: tinyModel(other), schema: other, train: synthColumns(other, 50, 1), config: cfg(), runDir: dir, resume: true }).run(),
      (e: Error) => e instanceof CmdcmError && /another schema/.test(e.message));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a NaN loss stops with an error naming step and term; the last good checkpoint stays', async () => {
  const dir = tmp();
  try {
    const t = new Trainer({ model: tinyModel(schema, 4, { nanAtCall: 8 }), schema, train, config: cfg(), runDir: dir });
    await assert.rejects(t.run(), (e: Error) => e instanceof NonFiniteLossError && /step 8/.test(e.message) && /'atc'/.test(e.message));
    const ck = await readCheckpoint(join(dir, CKPT_LATEST));
    assert.equal(ck.state.step, 5);
    for (const x of ck.state.params) assert.ok(Number.isFinite(x));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('trainStep leaves the state untouched on a non-finite loss', () => {
  const model = tinyModel(schema, 4, { nanAtCall: 1 });
  const c = cfg();
  const s = initTrainState(model, schema, c);
  const before = Float32Array.from(s.params), tb = Float32Array.from(s.table);
  assert.throws(() => trainStep(model, s, train, stepHyper(c, 0.1)), NonFiniteLossError);
  assert.deepEqual(s.params, before);
  assert.deepEqual(s.table, tb);
  assert.equal(s.step, 0);
});

test('embedding rows a step did not touch stay exactly as they were (lazy Adam and Adagrad)', () => {
  for (const tableOptimizer of ['lazyAdam', 'adagrad'] as const) {
    const model = tinyModel(schema);
    const c = cfg({ tableOptimizer });
    const s = initTrainState(model, schema, c);
    const before = Float32Array.from(s.table);
    const batch = synthColumns(schema, 5, 99);
    trainStep(model, s, batch, stepHyper(c, 0.1));
    const touched = new Set(Array.from(batch.fields));
    for (let r = 0; r < schema.tableRows; r++) {
      const changed = s.table.subarray(r * 4, r * 4 + 4).some((v, j) => v !== before[r * 4 + j]);
      assert.equal(changed, touched.has(r), `${tableOptimizer} row ${r}`);
    }
    assert.equal(s.tableV.length, tableOptimizer === 'lazyAdam' ? s.table.length : 0);
  }
});

test('table init: seeded small normal, padding row zero', () => {
  const model = tinyModel(schema);
  const a = initTrainState(model, schema, cfg()), b = initTrainState(model, schema, cfg());
  assert.deepEqual(a.table, b.table);
  assert.ok(a.table.subarray(0, 4).every((v) => v === 0));
  const body = a.table.subarray(4);
  const mean = body.reduce((x, y) => x + y, 0) / body.length;
  const std = Math.sqrt(body.reduce((x, y) => x + (y - mean) ** 2, 0) / body.length);
  assert.ok(Math.abs(std - 0.01) < 0.002, `std ${std}`);
});

test('early stopping: validation against inverted labels stops after `patience` bad validations, best kept', async () => {
  const dir = tmp();
  try {
    const inverted = synthColumns(schema, 120, 12, { invert: true });
    const t = new Trainer({ model: tinyModel(schema), schema, train, valid: inverted, config: cfg({ epochs: 20, patience: 2, validEvery: 3 }), runDir: dir });
    const v: { improved: boolean; step: number }[] = [];
    t.on('valid', (e) => v.push(e));
    const s = await t.run();
    assert.equal(s.finished, 'early-stop');
    assert.ok(s.steps < 20 * 10);
    const tail = v.slice(-2);
    assert.ok(tail.every((e) => !e.improved));
    assert.equal(s.best!.step, [...v].reverse().find((e) => e.improved)!.step);
    const best = await readCheckpoint(join(dir, CKPT_BEST));
    assert.equal(best.meta.kind, 'best');
    assert.equal(best.state.step, s.best!.step);
    const lines = readFileSync(join(dir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    assert.equal(lines.filter((l) => l.type === 'step').length, s.steps);
    assert.equal(lines.filter((l) => l.type === 'valid').length, v.length);
    assert.equal(lines.at(-1).type, 'end');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
