import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, rmSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { cmdcmIn, ok, smallSetup } from './train-fixture.js';

const S = await smallSetup();
after(() => rmSync(S.dir, { recursive: true, force: true }));

test('cmdcm compare trains each model and prints one table with the truth correlation', async () => {
  const json = join(S.dir, 'rows.json');
  const r = ok(await cmdcmIn(['compare', '--data', S.data, '--models', 'cmdcm,dnn', '--truth', S.truth, '--config', S.config, '--json', json, '--seeds', '2', '--bootstrap', '50']), 'compare');
  const lines = r.stdout.trim().split('\n');
  assert.match(lines[0], /^\| model \| delayed AUC \| Δ vs cmdcm \[95 % CI\] \| delayed GAUC \| delayed logloss \| delayed PCOC \| atc AUC \| direct AUC \| transition AUC \| transition Pearson vs truth \|/);
  const body = lines.filter((l) => /^\| (cmdcm|dnn|truth \(oracle\)) \|/.test(l));
  assert.equal(body.length, 3);
  // mean ± std over the 2 seeds; dnn has no atc/direct heads: shown as priors, not as AUC 0.5
  const num = '[\\d.]+ ± [\\d.]+';
  assert.match(body.find((l) => l.startsWith('| dnn |'))!, new RegExp(`^\\| dnn \\| ${num} \\| [+-][\\d.]+ \\[-?[\\d.]+, -?[\\d.]+\\] \\| ${num} \\| ${num} \\| ${num} \\| prior \\| prior \\| ${num} \\|`));
  assert.match(body.find((l) => l.startsWith('| truth (oracle) |'))!, /^\| truth \(oracle\) \| 0\.\d{4} \| [+-][\d.]+ \[/);
  const rows = JSON.parse(readFileSync(json, 'utf8'));
  const meta = JSON.parse(readFileSync(join(S.data, 'meta.json'), 'utf8'));
  assert.deepEqual(rows.map((x: { model: string }) => x.model), ['cmdcm', 'dnn', 'oracle']);
  const dnn = rows[1];
  assert.equal(dnn.seeds.length, 2);
  assert.equal(dnn.perSeed.length, 2);
  assert.ok(dnn.deltaDelayedAuc.lo <= dnn.deltaDelayedAuc.hi);
  for (const row of rows.slice(0, 2)) {
    assert.deepEqual(row.leak, [], 'no model beats the truth probabilities');
    assert.equal(row.truthMatched, meta.counts.perSplit.test, 'every prediction finds its truth row');
    assert.ok(row.transitionPearson === null || (row.transitionPearson >= -1 && row.transitionPearson <= 1));
    assert.ok(Math.abs(row.delayedAuc - (row.perSeed[0].delayed.auc + row.perSeed[1].delayed.auc) / 2) < 1e-12, 'the mean over the seeds');
    assert.ok(row.delayedAuc > 0 && row.delayedAuc < 0.999);
  }
  assert.ok(!existsSync(join(S.dir, 'runs')), 'runs are temporary without --out');
});

test('cmdcm compare: bad model list and missing truth are clear errors', async () => {
  const r = await cmdcmIn(['compare', '--data', S.data, '--models', 'cmdcm,nope']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /--models: unknown model 'nope'/);
  const t = await cmdcmIn(['compare', '--data', S.data, '--models', 'dnn', '--truth', join(S.dir, 'missing.csv'), '--config', S.config]);
  assert.equal(t.code, 1);
  assert.match(t.stderr, /--truth: cannot read .*missing\.csv/);
});
