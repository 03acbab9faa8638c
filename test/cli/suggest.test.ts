import { test } from 'node:test';
import assert from 'node:assert/strict';
import { closest } from '../../src/util/suggest.js';
import { takeGlobalFlags } from '../../src/cli/main.js';
import { cmdcm } from './train-fixture.js';

test('closest: a misspelt word finds its candidate; a far one finds none', () => {
  assert.equal(closest('trian', ['train', 'eval', 'predict']), 'train');
  assert.equal(closest('epoch', ['epochs', 'seed']), 'epochs');
  assert.equal(closest('escm2ipw', ['esmm', 'escm2-ipw', 'escm2-dr']), 'escm2-ipw');
  assert.equal(closest('gpt', ['cmdcm', 'dnn', 'esmm']), undefined);
  assert.equal(closest('x', ['train']), undefined);
});

test('the CLI suggests the command, flag or model meant, with usage exit codes', () => {
  const c = cmdcm(['trian']);
  assert.equal(c.code, 2);
  assert.match(c.stderr, /^cmdcm: unknown command 'trian' \(did you mean train\?\)/);
  const f = cmdcm(['train', '--epoch', '1']);
  assert.equal(f.code, 2);
  assert.equal(f.stderr.trim(), "cmdcm train: --epoch: unknown flag for this command (did you mean --epochs?); see --help");
  const m = cmdcm(['train', '--model', 'cmdmc', '--data', 'nope', '--out', 'nope2']);
  assert.equal(m.code, 2);
  assert.match(m.stderr, /--model: unknown model 'cmdmc' \(did you mean cmdcm\?\)/);
  const l = cmdcm(['--log-level', 'loud', 'inspect']);
  assert.equal(l.code, 2);
  assert.match(l.stderr, /--log-level: expected one of fatal, error, warn, info, debug, trace, silent, got 'loud'/);
});

test('global flags are taken anywhere on the line and set the environment the rest reads', () => {
  const saved = { ...process.env };
  try {
    delete process.env.CMDCM_LOG_LEVEL;
    assert.deepEqual(takeGlobalFlags(['train', '--quiet', '--data', 'd', '--log-level', 'error']), ['train', '--data', 'd']);
    assert.equal(process.env.CMDCM_QUIET, '1');
    assert.equal(process.env.CMDCM_NO_PROGRESS, '1');
    assert.equal(process.env.CMDCM_LOG_LEVEL, 'error');
    delete process.env.CMDCM_LOG_LEVEL;
    assert.deepEqual(takeGlobalFlags(['inspect', '--json-logs', 'x.csv']), ['inspect', 'x.csv']);
    assert.equal(process.env.CMDCM_LOG_LEVEL, 'info');
  } finally {
    process.env = saved;
  }
});

test('the flags added for the as-of backtest refuse bad values on one line, naming the flag', () => {
  const cases: [string[], RegExp][] = [
    [['compare', '--data', 'd', '--models', 'cmdcm', '--seeds', '0'], /^cmdcm compare: --seeds: /],
    [['compare', '--data', 'd', '--models', 'cmdcm', '--bootstrap', '-1'], /^cmdcm compare: --bootstrap: a value starting with '-' must be written --bootstrap=VALUE$/m],
    [['compare', '--data', 'd', '--models', 'cmdcm', '--bootstrap=-1'], /^cmdcm compare: --bootstrap: /],
    [['generate', '--out', 'x.csv', '--confounding=-1'], /^cmdcm generate: --confounding: /],
    [['prepare', '--log', 'x.csv', '--promo', '2014-12-12:10', '--out', 'o', '--test-days', '2', '--as-of', '2014-12-10'], /^cmdcm prepare: --as-of: give either --as-of or --test-days, not both/],
  ];
  for (const [args, want] of cases) {
    const r = cmdcm(args);
    assert.equal(r.code, 2, args.join(' '));
    assert.match(r.stderr, want);
    assert.equal(r.stderr.trim().split('\n').length, 1);
  }
});
