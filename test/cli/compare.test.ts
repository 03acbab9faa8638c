import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, rmSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { cmdcmIn, ok, smallSetup } from './train-fixture.js';

const S = await smallSetup();
after(() => rmSync(S.dir, { recursive: true, force: true }));

test('cmdcm compare trains each model and prints one table with the truth correlation', async () => {
  const json = join(S.dir, 'rows.json');
  const r = ok(await cmdcmIn(['compare', '--data', S.data, '--models', 'cmdcm,dnn', '--truth', S.truth, '--config', S.config, '--json', json]), 'compare');
  const lines = r.stdout.trim().split('\n');
  assert.match(lines[0], /^\| model \| delayed AUC \| delayed GAUC \| delayed logloss \| delayed PCOC \| atc AUC \| direct AUC \| transition AUC \| transition Pearson vs truth \|/);
  const body = lines.filter((l) => /^\| (cmdcm|dnn) \|/.test(l));
  assert.equal(body.length, 2);
  // dnn has no atc/direct heads: shown as priors, not as AUC 0.5
  assert.match(body.find((l) => l.startsWith('| dnn |'))!, /^\| dnn \| [\d.]+ \| [\d.]+ \| [\d.]+ \| [\d.]+ \| prior \| prior \| [\d.]+ \|/);
  const rows = JSON.parse(readFileSync(json, 'utf8'));
  const meta = JSON.parse(readFileSync(join(S.data, 'meta.json'), 'utf8'));
  for (const row of rows) {
    assert.equal(row.truthMatched, meta.counts.perSplit.test, 'every prediction finds its truth row');
    assert.ok(row.transitionPearson === null || (row.transitionPearson >= -1 && row.transitionPearson <= 1));
    assert.equal(row.delayedAuc, row.tasks.delayed.auc);
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
