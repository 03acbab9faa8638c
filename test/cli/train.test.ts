import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, existsSync, rmSync, truncateSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { readCheckpoint } from '../../src/train/checkpoint.js';
import { openDataset } from '../../src/data/dataset.js';
import { evaluatePredictions } from '../../src/eval/report.js';
import type { Predictions } from '../../src/model/types.js';
import { cmdcm, cmdcmIn, ok, smallSetup } from './train-fixture.js';

process.env.CMDCM_LOG_LEVEL = 'silent';

const S = await smallSetup();
after(() => rmSync(S.dir, { recursive: true, force: true }));
const run1 = join(S.dir, 'run1');

test('cmdcm train → eval → predict on a generated dataset', async () => {
  const t = ok(cmdcm(['train', '--data', S.data, '--model', 'cmdcm', '--out', run1, '--config', S.config]), 'train');
  assert.match(t.stdout, /^trained cmdcm: \d+ steps, all epochs done, best validation logloss [\d.]+ at step \d+/);
  assert.doesNotMatch(t.stderr, /workers pay off/);
  for (const f of ['config.json', 'metrics.jsonl', 'train.log', 'ckpt-latest.cmck', 'best.cmck']) assert.ok(existsSync(join(run1, f)), f);

  const e = ok(await cmdcmIn(['eval', '--run', run1]), 'eval');
  assert.match(e.stdout, /\| task \| n \| positives \| AUC \| GAUC \| logloss \| PCOC \|/);
  assert.match(e.stdout, /\| delayed \| \d+ \| \d+ \| 0\.\d{4} \|/);
  const report = JSON.parse(readFileSync(join(run1, 'eval.json'), 'utf8'));
  const meta = JSON.parse(readFileSync(join(S.data, 'meta.json'), 'utf8'));
  assert.equal(report.n, meta.counts.perSplit.test);
  assert.ok(report.tasks.delayed.auc > 0 && report.tasks.delayed.auc < 0.999);

  const csv = join(S.dir, 'preds.csv');
  ok(await cmdcmIn(['predict', '--run', run1, '--data', S.data, '--out', csv]), 'predict');
  const rows = readFileSync(csv, 'utf8').trim().split('\n');
  assert.equal(rows[0], 'user_id,item_id,time,p_direct,p_atc,p_transition,p_delayed');
  assert.equal(rows.length - 1, meta.counts.perSplit.test);
  // the generator's truth lists the same target pre-window clicks, keyed as in the log
  const key = (l: string) => l.split(',').slice(0, 3).join(',');
  const truth = readFileSync(S.truth, 'utf8').trim().split('\n');
  const tHead = truth[0].split(',');
  assert.deepEqual(tHead.slice(0, 3), ['user_id', 'item_id', 'time']);
  // predict covers every test click: the target's clicks at or after asOf
  const asOfHour = meta.asOfText.slice(0, 13);
  assert.deepEqual(rows.slice(1).map(key).sort(), truth.slice(1).filter((l) => l.split(',')[2] >= asOfHour).map(key).sort());
  const log = new Set(readFileSync(join(S.dir, 'log.csv'), 'utf8').split('\n').slice(1).map((l) => { const c = l.split(','); return `${c[0]},${c[1]},${c[5]}`; }));
  for (const r of rows.slice(1, 50)) assert.ok(log.has(key(r)), `${key(r)} not a click key of the log`);
  // p_delayed = the run's calibration of p_atc·p_transition + (1 − p_atc)·p_noncart, so (the
  // calibration is increasing) between the calibrated carted path alone and that plus 1 − p_atc
  // (6-digit CSV rounding)
  const cal = JSON.parse(readFileSync(join(run1, 'config.json'), 'utf8')).modelConfig.delayedCalibration;
  assert.ok(cal && Number.isFinite(cal.a) && cal.b > 0, 'train fit a delayed calibration');
  const calibrated = (q: number) => {
    const c = Math.min(Math.max(q, 1e-6), 1 - 1e-6);
    return 1 / (1 + Math.exp(-(cal.a + cal.b * Math.log(c / (1 - c)))));
  };
  const slack = (x: number) => 2e-3 * Math.max(x, 1e-3) + 1e-5;
  for (const r of rows.slice(1)) {
    const p = r.split(',').slice(3).map(Number);
    assert.ok(p.every((x) => x >= 0 && x <= 1), r);
    const lo = calibrated(p[1] * p[2]), hi = calibrated(p[1] * p[2] + 1 - p[1]);
    assert.ok(p[3] >= lo - slack(lo) && p[3] <= hi + slack(hi), `${r}: want p_delayed in [${lo}, ${hi}]`);
  }
});

test('cmdcm train --workers 2 with a small batch says from what batch size workers pay off', () => {
  const t = ok(cmdcm(['train', '--data', S.data, '--model', 'esmm', '--out', join(S.dir, 'small-mb'), '--config', S.config, '--workers', '2', '--batch-size', '64', '--max-steps', '2']), 'train');
  assert.match(t.stderr, /--workers 2 with --batch-size 64 gives each worker 32 samples a step; workers pay off from about 512 each \(e\.g\. --batch-size 1024\)/);
});

test('cmdcm train --resume after an interruption reaches the uninterrupted parameters', async () => {
  const straight = join(S.dir, 'straight'), cut = join(S.dir, 'cut');
  ok(await cmdcmIn(['train', '--data', S.data, '--model', 'esmm', '--out', straight, '--config', S.config, '--epochs', '2']), 'train');
  const r1 = ok(await cmdcmIn(['train', '--data', S.data, '--model', 'esmm', '--out', cut, '--config', S.config, '--epochs', '2', '--max-steps', '9']), 'train cut');
  assert.match(r1.stdout, /9 steps, step budget reached/);
  // no --model: a resumed run keeps its own (esmm here; a fresh run's default is cmdcm)
  ok(await cmdcmIn(['train', '--data', S.data, '--out', cut, '--resume', '--max-steps', '0']), 'resume');
  const a = await readCheckpoint(join(straight, 'ckpt-latest.cmck')), b = await readCheckpoint(join(cut, 'ckpt-latest.cmck'));
  assert.equal(a.state.step, b.state.step);
  assert.deepEqual(b.state.params, a.state.params);
  assert.deepEqual(b.state.table, a.state.table);
});

test('bad input: clear one-line errors', async () => {
  const missing = cmdcm(['train', '--data', join(S.dir, 'nope'), '--model', 'cmdcm', '--out', join(S.dir, 'x')]);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /^cmdcm train: .*nope: dataset directory not found/);
  assert.equal(missing.stderr.trim().split('\n').length, 1);

  const again = await cmdcmIn(['train', '--data', S.data, '--model', 'cmdcm', '--out', run1, '--config', S.config]);
  assert.equal(again.code, 1);
  assert.match(again.stderr, /already holds a run \(continue it with --resume/);

  const other = await cmdcmIn(['train', '--data', S.data, '--model', 'dnn', '--out', run1, '--resume']);
  assert.equal(other.code, 1);
  assert.match(other.stderr, /the run there is model 'cmdcm', not 'dnn'/);

  const badModel = await cmdcmIn(['train', '--data', S.data, '--model', 'gpt', '--out', join(S.dir, 'y')]);
  assert.equal(badModel.code, 2);
  assert.match(badModel.stderr, /--model: unknown model 'gpt'/);

  const noRun = await cmdcmIn(['eval', '--run', join(S.dir, 'norun')]);
  assert.equal(noRun.code, 1);
  assert.match(noRun.stderr, /norun: run directory not found/);

  // a dataset prepared with another sequence length has another schema
  const ds2 = join(S.dir, 'ds-seq6');
  ok(await cmdcmIn(['prepare', '--log', join(S.dir, 'log.csv'), '--promo', 'auto', '--out', ds2, '--seq-len', '6']), 'prepare 2');
  const wrongData = await cmdcmIn(['predict', '--run', run1, '--data', ds2, '--out', join(S.dir, 'p2.csv')]);
  assert.equal(wrongData.code, 1);
  assert.match(wrongData.stderr, /schema .* differs from the one run .* was trained on/);
  const wrongResume = await cmdcmIn(['train', '--data', ds2, '--model', 'cmdcm', '--out', run1, '--resume']);
  assert.equal(wrongResume.code, 1);
  assert.match(wrongResume.stderr, /another schema/);
});

test('a truncated latest checkpoint: --resume falls back to the previous one with a warning; both bad → error', async () => {
  const run = join(S.dir, 'trunc');
  ok(await cmdcmIn(['train', '--data', S.data, '--model', 'dnn', '--out', run, '--config', S.config, '--max-steps', '9']), 'train');
  const prevStep = (await readCheckpoint(join(run, 'ckpt-prev.cmck'))).state.step;
  assert.equal(prevStep, 8);
  const latest = join(run, 'ckpt-latest.cmck');
  truncateSync(latest, Math.floor(statSync(latest).size * 0.7));
  const ev = await cmdcmIn(['eval', '--run', run, '--checkpoint', 'latest']);
  assert.equal(ev.code, 0, ev.stderr);
  assert.match(ev.stderr, /truncated or corrupted checkpoint.*previous checkpoint/);
  const r = ok(await cmdcmIn(['train', '--data', S.data, '--model', 'dnn', '--out', run, '--resume', '--max-steps', '10']), 'resume');
  assert.match(r.stdout, /10 steps/);
  assert.equal((await readCheckpoint(latest)).state.step, 10);
  // now break both
  truncateSync(latest, 50);
  truncateSync(join(run, 'ckpt-prev.cmck'), 50);
  const bad = await cmdcmIn(['train', '--data', S.data, '--model', 'dnn', '--out', run, '--resume']);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /ckpt-latest\.cmck: .*; the previous checkpoint is unusable too: .*ckpt-prev\.cmck/);
});

test('guards on generated data: a label leaked into the predictions → AUC 1 flagged; a collapsed model → AUC 0.5 flagged', async () => {
  const test = await (await openDataset(S.data)).load('test');
  const n = test.n;
  const lab = (t: number) => Float32Array.from({ length: n }, (_, i) => 0.05 + 0.9 * test.labels[i * 3 + t]);
  const leak: Predictions = { direct: lab(0), atc: lab(1), transition: lab(2), delayed: lab(2) };
  const r = evaluatePredictions(test, leak);
  assert.equal(r.tasks.delayed.auc, 1);
  assert.ok(r.warnings.some((w) => w.startsWith('delayed: AUC 1.0000 is suspiciously perfect')), r.warnings.join('; '));
  const flat: Predictions = { direct: new Float32Array(n).fill(0.02), atc: new Float32Array(n).fill(0.1), transition: new Float32Array(n).fill(0.2), delayed: new Float32Array(n).fill(0.02) };
  const c = evaluatePredictions(test, flat);
  assert.equal(c.tasks.delayed.auc, 0.5);
  assert.ok(c.warnings.some((w) => w.startsWith('delayed: predictions are constant')));
  // the trained run of the first test carries neither warning
  const trained = JSON.parse(readFileSync(join(run1, 'eval.json'), 'utf8'));
  assert.ok(!trained.warnings.some((w: string) => /suspiciously perfect|constant/.test(w)), trained.warnings.join('; '));
});
