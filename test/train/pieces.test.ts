import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../src/util/rng.js';
import { learningRate, type ScheduleConfig } from '../../src/train/schedule.js';
import { DEFAULT_TRAIN_CONFIG, mergeTrainConfig } from '../../src/train/config.js';
import { encodeCheckpoint, decodeCheckpoint, CKPT_VERSION } from '../../src/train/checkpoint.js';
import { initTrainState } from '../../src/train/state.js';
import { schemaFingerprint } from '../../src/train/fingerprint.js';
import { CmdcmError } from '../../src/util/errors.js';
import { tinyModel, tinySchema } from './fixtures.js';

test('rng: reproducible, restorable from its state, unbiased ints in range', () => {
  const a = new Rng(42), b = new Rng(42);
  const xs = Array.from({ length: 10 }, () => a.nextU32());
  assert.deepEqual(xs, Array.from({ length: 10 }, () => b.nextU32()));
  const st = a.state();
  const next = [a.next(), a.next(), a.int(7)];
  const c = new Rng(st);
  assert.deepEqual([c.next(), c.next(), c.int(7)], next);
  const counts = new Array(5).fill(0);
  const r = new Rng(1);
  for (let i = 0; i < 50000; i++) counts[r.int(5)]++;
  for (const k of counts) assert.ok(Math.abs(k - 10000) < 400, `${counts}`);
  assert.notDeepEqual(new Rng(1).state(), new Rng(2).state());
  let s = 0, s2 = 0;
  for (let i = 0; i < 20000; i++) {
    const z = r.normal();
    s += z;
    s2 += z * z;
  }
  assert.ok(Math.abs(s / 20000) < 0.03 && Math.abs(s2 / 20000 - 1) < 0.05);
  const perm = r.shuffle(Uint32Array.from({ length: 100 }, (_, i) => i));
  assert.deepEqual([...perm].sort((x, y) => x - y), Array.from({ length: 100 }, (_, i) => i));
});

test('lr schedules: warmup, cosine endpoints, step decay, constant', () => {
  const base: ScheduleConfig = { kind: 'cosine', lr: 1, warmupSteps: 4, minLrRatio: 0.1, gamma: 0.5, stepEvery: 10 };
  assert.equal(learningRate(base, 0, 100), 0.25);
  assert.equal(learningRate(base, 3, 100), 1);
  assert.ok(Math.abs(learningRate(base, 4, 100) - 1) < 1e-12);
  assert.ok(Math.abs(learningRate(base, 99, 100) - 0.1) < 1e-12);
  const mid = learningRate(base, 4 + 95 / 2, 100);
  assert.ok(Math.abs(mid - 0.55) < 1e-9, `${mid}`);
  const step = { ...base, kind: 'step' as const };
  assert.equal(learningRate(step, 4 + 9, 100), 1);
  assert.equal(learningRate(step, 4 + 10, 100), 0.5);
  assert.equal(learningRate(step, 4 + 25, 100), 0.25);
  assert.equal(learningRate({ ...base, kind: 'constant', warmupSteps: 0 }, 57, 100), 1);
});

test('config: overrides merge, unknown keys and bad values name the key', () => {
  const c = mergeTrainConfig(DEFAULT_TRAIN_CONFIG, { epochs: 5, schedule: { lr: 0.1 } }, 'x.json');
  assert.equal(c.epochs, 5);
  assert.equal(c.schedule.lr, 0.1);
  assert.equal(c.schedule.kind, DEFAULT_TRAIN_CONFIG.schedule.kind);
  assert.equal(DEFAULT_TRAIN_CONFIG.epochs, 1, 'defaults untouched');
  assert.throws(() => mergeTrainConfig(DEFAULT_TRAIN_CONFIG, { epoch: 3 } as never, 'x.json'), (e: Error) => e instanceof CmdcmError && /x\.json: unknown key "epoch"/.test(e.message));
  assert.throws(() => mergeTrainConfig(DEFAULT_TRAIN_CONFIG, { batchSize: 0 }, 'x.json'), /"batchSize" must be a positive integer/);
  assert.throws(() => mergeTrainConfig(DEFAULT_TRAIN_CONFIG, { schedule: { kind: 'linear' as never } }, 'x.json'), /schedule\.kind/);
});

test('checkpoint: round trip, bad magic, other version, corruption', () => {
  const schema = tinySchema();
  const model = tinyModel(schema);
  const state = initTrainState(model, schema, DEFAULT_TRAIN_CONFIG);
  state.step = 17;
  state.best = { metric: 0.5, step: 10 };
  state.params[3] = 1.2345;
  const meta = { kind: 'train' as const, model: 'dnn', modelConfig: { a: 1 }, trainConfig: DEFAULT_TRAIN_CONFIG, schemaFingerprint: schemaFingerprint(schema), dim: 4, tableRows: 64, createdAt: 'now' };
  const bytes = encodeCheckpoint({ meta, state });
  const back = decodeCheckpoint(bytes, 'ck');
  assert.deepEqual(back.meta, meta);
  assert.deepEqual(back.state.params, state.params);
  assert.deepEqual(back.state.table, state.table);
  assert.deepEqual(back.state.tableV, state.tableV);
  assert.equal(back.state.step, 17);
  assert.deepEqual(back.state.best, { metric: 0.5, step: 10 });
  assert.deepEqual(back.state.rng, state.rng);
  // unaligned source buffer still decodes
  const shifted = new Uint8Array(bytes.length + 1);
  shifted.set(bytes, 1);
  assert.deepEqual(decodeCheckpoint(shifted.subarray(1), 'ck').state.params, state.params);
  const bad = Uint8Array.from(bytes);
  bad[0] = 0x58;
  assert.throws(() => decodeCheckpoint(bad, 'f.cmck'), /f\.cmck: not a cmdcm checkpoint/);
  const v2 = Uint8Array.from(bytes);
  new DataView(v2.buffer).setUint32(8, CKPT_VERSION + 1, true);
  assert.throws(() => decodeCheckpoint(v2, 'f.cmck'), new RegExp(`version ${CKPT_VERSION + 1}.*version ${CKPT_VERSION}`));
  assert.throws(() => decodeCheckpoint(bytes.subarray(0, bytes.length - 3), 'f.cmck'), /truncated/);
  const flip = Uint8Array.from(bytes);
  flip[flip.length - 5] ^= 0xff;
  assert.throws(() => decodeCheckpoint(flip, 'f.cmck'), /CRC/);
});

test('schema fingerprint: key order irrelevant, any change matters', () => {
  const s = tinySchema();
  const reordered = JSON.parse(JSON.stringify({ tableRows: s.tableRows, hash: s.hash, dense: s.dense, seqTokens: s.seqTokens, seqLen: s.seqLen, fields: s.fields }));
  assert.equal(schemaFingerprint(s), schemaFingerprint(reordered));
  assert.notEqual(schemaFingerprint(s), schemaFingerprint({ ...s, seqLen: 3 }));
});
