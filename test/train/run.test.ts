import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, readFileSync, existsSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { trainRun } from '../../src/train/run.js';
import { createModel, fitDenseStats, fullyLabelledRows, type NetModel } from '../../src/model/index.js';
import { Predictor } from '../../src/train/predictor.js';
import { predictRun, formatTime } from '../../src/train/predict-csv.js';
import { readCheckpoint, CKPT_LATEST, CKPT_BEST } from '../../src/train/checkpoint.js';
import { evaluateRun } from '../../src/eval/evaluate.js';
import { compareModels, compareMarkdown } from '../../src/workflows/compare.js';
import { evaluatePredictions } from '../../src/eval/report.js';
import { pearson } from '../../src/eval/metrics.js';
import { trainEvents } from '../../src/index.js';
import { CmdcmError } from '../../src/util/errors.js';
import { memDataset, synthColumns, tinySchema, SMALL_MODEL } from './fixtures.js';

process.env.CMDCM_LOG_LEVEL = 'silent';
process.env.CMDCM_QUIET = '1';

const schema = tinySchema();
const splits = { train: synthColumns(schema, 160, 1, { delayedMasked: true }), valid: synthColumns(schema, 60, 2), test: synthColumns(schema, 80, 3) };
const ds = memDataset(schema, splits);
const TRAIN = { epochs: 2, batchSize: 32, checkpointEvery: 3, seed: 5, schedule: { lr: 0.01, warmupSteps: 2 } };

function tmp(): string {
  return mkdtempSync(join(tmpdir(), 'cmdcm-run-'));
}

const bytes = (a: Float32Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

test('real model (cpu engine): run directory contents, and resume is bit-exact', async () => {
  const root = tmp();
  try {
    const full = await trainRun({ data: ds, model: 'cmdcm', out: join(root, 'full'), modelConfig: SMALL_MODEL, train: TRAIN, engine: 'cpu' });
    assert.equal(full.summary.steps, 10);
    for (const f of ['config.json', 'metrics.jsonl', 'train.log', CKPT_LATEST, 'ckpt-prev.cmck', CKPT_BEST]) assert.ok(existsSync(join(root, 'full', f)), f);
    const rc = JSON.parse(readFileSync(join(root, 'full', 'config.json'), 'utf8'));
    assert.equal(rc.model, 'cmdcm');
    assert.equal(rc.modelConfig.dim, 4);
    assert.equal(rc.train.batchSize, 32);

    await trainRun({ data: ds, model: 'cmdcm', out: join(root, 'cut'), modelConfig: SMALL_MODEL, train: { ...TRAIN, maxSteps: 7 }, engine: 'cpu' });
    const resumed = await trainRun({ data: ds, model: 'cmdcm', out: join(root, 'cut'), resume: true, train: { maxSteps: 0 }, engine: 'cpu' });
    assert.equal(resumed.summary.resumedFrom, 7);
    const a = (await readCheckpoint(join(root, 'full', CKPT_LATEST))).state, b = (await readCheckpoint(join(root, 'cut', CKPT_LATEST))).state;
    for (const k of ['params', 'table', 'm', 'v', 'tableM', 'tableV'] as const) assert.ok(bytes(a[k]).equals(bytes(b[k])), `${k} differs after resume`);

    // bad input: existing run without --resume, another model, another schema
    await assert.rejects(trainRun({ data: ds, model: 'cmdcm', out: join(root, 'full'), modelConfig: SMALL_MODEL, train: TRAIN }), (e: Error) => e instanceof CmdcmError && /already holds a run/.test(e.message));
    await assert.rejects(trainRun({ data: ds, model: 'esmm', out: join(root, 'full'), resume: true }), (e: Error) => e instanceof CmdcmError && /is model 'cmdcm', not 'esmm'/.test(e.message));
    const other = tinySchema(80);
    const ds2 = memDataset(other, { train: synthColumns(other, 40, 1), valid: synthColumns(other, 10, 2), test: synthColumns(other, 10, 3) }, { dir: 'mem://other' });
    await assert.rejects(trainRun({ data: ds2, model: 'cmdcm', out: join(root, 'full'), resume: true }), (e: Error) => e instanceof CmdcmError && /another schema/.test(e.message));
    await assert.rejects(evaluateRun({ run: join(root, 'full'), data: ds2 }), (e: Error) => e instanceof CmdcmError && /schema/.test(e.message));
    await assert.rejects(Predictor.load(join(root, 'nope')), (e: Error) => e instanceof CmdcmError && /run directory not found/.test(e.message));

    // predictor = the best checkpoint's parameters through the model
    const p = await Predictor.load(join(root, 'full'));
    const best = await readCheckpoint(join(root, 'full', CKPT_BEST));
    assert.equal(p.step, best.state.step);
    const direct = p.model.predict(best.state.params, best.state.table, splits.test);
    const viaPredictor = p.predict(splits.test);
    assert.deepEqual(viaPredictor.delayed, direct.delayed);
    // non-cart path: p_delayed = p_a·p_t + (1 − p_a)·p_n lies in [p_a·p_t, p_a·p_t + 1 − p_a] before the
    // run's calibration, a monotone map of it
    const raw = createModel({ ...p.config.modelConfig, delayedCalibration: null }, p.config.schema).predict(best.state.params, best.state.table, splits.test);
    const cal = p.config.modelConfig.delayedCalibration!;
    assert.ok(cal, 'the run fit a calibration');
    for (let i = 0; i < splits.test.n; i++) {
      const carted = raw.atc[i] * raw.transition[i];
      assert.ok(raw.delayed[i] > carted - 1e-7 && raw.delayed[i] < carted + 1 - raw.atc[i] + 1e-6);
      const z = Math.log(Math.min(Math.max(raw.delayed[i], 1e-6), 1 - 1e-6) / (1 - Math.min(Math.max(raw.delayed[i], 1e-6), 1 - 1e-6)));
      assert.ok(Math.abs(viaPredictor.delayed[i] - 1 / (1 + Math.exp(-(cal.a + cal.b * z)))) < 1e-6);
    }
    // the dense statistics were fit on the train split, stored with the run, and the predictor applies them
    // (perTaskDense, the default: on every train row; the delayed path's mask from the fully labelled ones)
    const fitted = fitDenseStats(splits.train.dense, schema.dense.length, 'none', null);
    assert.deepEqual(rc.modelConfig.denseStats, fitted);
    const labelled = fitDenseStats(splits.train.dense, schema.dense.length, 'none', fullyLabelledRows(splits.train));
    assert.deepEqual(rc.modelConfig.delayedDenseMask, labelled.std.map((x) => (x > 0 ? 1 : 0)));
    assert.deepEqual((p.model as NetModel).config.denseStats, fitted);
    const unscaled = createModel({ ...(p.model as NetModel).config, denseStats: null }, schema).predict(best.state.params, best.state.table, splits.test);
    assert.notDeepEqual(unscaled.atc, viaPredictor.atc);

    // eval writes eval.json / eval.md whose numbers are evaluatePredictions' on the same predictions
    const ev = await evaluateRun({ run: join(root, 'full'), data: ds });
    const want = evaluatePredictions(splits.test, viaPredictor);
    assert.equal(ev.report.tasks.delayed.auc, want.tasks.delayed.auc);
    const onDisk = JSON.parse(readFileSync(join(root, 'full', 'eval.json'), 'utf8'));
    assert.equal(onDisk.tasks.atc.auc, want.tasks.atc.auc);
    assert.match(readFileSync(join(root, 'full', 'eval.md'), 'utf8'), /\| delayed \| 80 \|/);

    // predict CSV: one row per test click, raw ids from the vocabulary, log-format times
    const csvPath = join(root, 'preds.csv');
    await predictRun({ run: join(root, 'full'), data: ds, out: csvPath });
    const lines = readFileSync(csvPath, 'utf8').trim().split('\n');
    assert.equal(lines[0], 'user_id,item_id,time,p_direct,p_atc,p_transition,p_delayed');
    assert.equal(lines.length, 1 + splits.test.n);
    const c5 = lines[6].split(',');
    assert.equal(c5[0], `u${1000 + splits.test.user[5]}`);
    assert.equal(c5[1], `it${splits.test.item[5] * 7}`);
    assert.equal(c5[2], formatTime(splits.test.time[5], 'tianchi2014'));
    assert.ok(Math.abs(Number(c5[6]) - viaPredictor.delayed[5]) < 1e-5);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('a run closes the train.log it opened, also when training fails', { skip: process.platform !== 'linux' ? 'reads /proc/self/fd' : false }, async () => {
  const { readdirSync, readlinkSync } = await import('node:fs');
  const openLogs = () => readdirSync('/proc/self/fd').map((fd) => { try { return readlinkSync(`/proc/self/fd/${fd}`); } catch { return ''; } }).filter((p) => p.endsWith('train.log'));
  const root = tmp();
  try {
    const before = openLogs().length;
    await trainRun({ data: ds, model: 'dnn', out: join(root, 'a'), modelConfig: SMALL_MODEL, train: { ...TRAIN, epochs: 1 }, engine: 'cpu' });
    assert.ok(existsSync(join(root, 'a', 'train.log')));
    assert.equal(openLogs().length, before);
    // a runner that throws mid-run: the log is still closed
    const failing = { step: () => { throw new Error('boom'); } };
    await assert.rejects(trainRun({ data: ds, model: 'dnn', out: join(root, 'b'), modelConfig: SMALL_MODEL, train: TRAIN, engine: 'cpu', runner: failing as never }), /boom/);
    assert.equal(openLogs().length, before);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('times are printed in the input log\'s notation', () => {
  const local = Date.UTC(2014, 11, 12, 9) / 1000;
  assert.equal(formatTime(local, 'tianchi2014'), '2014-12-12 09');
  assert.equal(formatTime(1511544070 + 8 * 3600, 'taobao2017'), '1511544070');
  assert.equal(formatTime(Date.UTC(2015, 10, 11) / 1000, 'tmall2015'), '1111');
  assert.equal(formatTime(Date.UTC(2015, 7, 29) / 1000, 'tmall2015'), '829');
  assert.equal(formatTime(Date.UTC(2015, 0, 2, 3, 4, 5) / 1000, 'generic'), '2015-01-02 03:04:05');
});

test('compareModels trains each model, tabulates, and correlates p_transition with a truth file', async () => {
  const root = tmp();
  try {
    // truth: a known function of the test clicks, rows shuffled, ids/times as predict prints them
    const t = splits.test;
    const truthP = Array.from({ length: t.n }, (_, i) => 0.2 + 0.6 * ((t.item[i] * 37) % 11) / 10);
    const rows = Array.from({ length: t.n }, (_, i) => `u${1000 + t.user[i]},it${t.item[i] * 7},${formatTime(t.time[i], 'tianchi2014')},0.1,0.2,${truthP[i]},0.3,0`);
    rows.reverse();
    writeFileSync(join(root, 'truth.csv'), 'user_id,item_id,time,p_direct,p_atc,p_transition,p_delayed,delayed\n' + rows.join('\n') + '\n');
    const res = await compareModels({ data: ds, models: ['cmdcm', 'dnn'], truth: join(root, 'truth.csv'), out: join(root, 'runs'), train: TRAIN, modelConfigs: { cmdcm: SMALL_MODEL, dnn: SMALL_MODEL }, engine: 'cpu' });
    // the truth file gives an oracle row too
    assert.deepEqual(res.map((r) => r.model), ['cmdcm', 'dnn', 'oracle']);
    for (const r of res.slice(0, 2)) {
      assert.equal(r.truthMatched, t.n);
      const pr = (await Predictor.load(join(root, 'runs', r.model), { engine: 'cpu' })).predict(t);
      assert.ok(Math.abs(r.transitionPearson! - pearson(Array.from(pr.transition), truthP)!) < 1e-9);
      assert.ok(Math.abs(r.delayedAuc! - evaluatePredictions(t, pr).tasks.delayed.auc!) < 1e-9);
    }
    const md = compareMarkdown(res);
    assert.match(md, /^\| model \| delayed AUC \| Δ vs cmdcm \[95 % CI\] \| delayed GAUC \| delayed logloss \| delayed PCOC \| atc AUC \| direct AUC \| transition AUC \| transition Pearson vs truth \|/);
    assert.equal(md.split('\n').filter((l) => /^\| (cmdcm|dnn|truth \(oracle\)) \|/.test(l)).length, 3);
    await assert.rejects(compareModels({ data: ds, models: ['nope' as never] }), /unknown model 'nope'/);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('trainEvents yields step and valid events, then returns the result', async () => {
  const root = tmp();
  try {
    const seen: string[] = [];
    const it = trainEvents({ data: ds, model: 'dnn', out: join(root, 'r'), modelConfig: SMALL_MODEL, train: TRAIN, engine: 'cpu' });
    let r = await it.next();
    while (!r.done) {
      seen.push(r.value.type);
      r = await it.next();
    }
    assert.equal(seen.filter((s) => s === 'step').length, 10);
    assert.equal(seen.filter((s) => s === 'valid').length, 2);
    assert.equal(seen.at(-1), 'end');
    assert.equal(r.value.summary.steps, 10);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
