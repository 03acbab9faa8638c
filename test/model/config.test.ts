import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CmdcmError } from '../../src/util/errors.js';
import { createModel, defaultModelConfig, loadModelConfigFile, resolveModelConfig, MODEL_NAMES, DEFAULTS_DOC } from '../../src/model/index.js';
import { userStatColumns } from '../../src/model/inputs.js';
import { syntheticBatch, tinySchema } from './fixtures.js';

test('defaults: the documented values and what each name switches', () => {
  const c = defaultModelConfig('cmdcm');
  assert.equal(c.dim, 16);
  assert.equal(c.seqPooling, 'din');
  assert.deepEqual(c.towerUnits, [256, 128, 64]);
  assert.equal(c.counterfactual, 'ipw');
  assert.equal(c.maxInverseWeight, 15);
  assert.equal(c.gating, true);
  assert.equal(c.directTask, true);
  const flags = (n: (typeof MODEL_NAMES)[number]) => {
    const d = defaultModelConfig(n);
    return [d.gating, d.directTask, d.counterfactual, d.nonCartPath];
  };
  // CM-DCM and its ablations model the promotion-day buys without a cart too
  assert.deepEqual(flags('cmdcm'), [true, true, 'ipw', true]);
  assert.deepEqual(flags('cmdcm-nogate'), [false, true, 'ipw', true]);
  assert.deepEqual(flags('cmdcm-nocf'), [true, true, 'none', true]);
  assert.deepEqual(flags('cmdcm-nodirect'), [true, false, 'ipw', true]);
  // the published baselines stay as published: p_delayed = p_a·p_t
  assert.deepEqual(flags('esmm'), [false, false, 'none', false]);
  assert.deepEqual(flags('escm2-ipw'), [false, false, 'ipw', false]);
  assert.deepEqual(flags('escm2-dr'), [false, false, 'dr', false]);
  for (const n of MODEL_NAMES) {
    assert.equal(defaultModelConfig(n).standardizeDense, true);
    assert.equal(defaultModelConfig(n).denseStats, null);
    assert.equal(defaultModelConfig(n).perTaskDense, true);
  }
  for (const k of ['nonCartPath', 'standardizeDense', 'denseStats', 'outputBias']) assert.ok(k in DEFAULTS_DOC, `${k} undocumented`);
  // Defaults are fresh objects: mutating one must not change the next.
  c.lossWeights.cf = 99;
  c.towerUnits.push(1);
  assert.equal(defaultModelConfig('cmdcm').lossWeights.cf, 0.1);
  assert.deepEqual(defaultModelConfig('cmdcm').towerUnits, [256, 128, 64]);
});

test('resolveModelConfig merges a partial config over the name defaults; the name argument wins', () => {
  const c = resolveModelConfig({ name: 'esmm', dim: 8, lossWeights: { ctcvr: 2 } }, 'x.json', 'escm2-dr');
  assert.equal(c.name, 'escm2-dr');
  assert.equal(c.counterfactual, 'dr');
  assert.equal(c.dim, 8);
  assert.equal(c.lossWeights.ctcvr, 2);
  assert.equal(c.lossWeights.atc, 1);
});

test('invalid configs are CmdcmErrors naming the source and the key', () => {
  const bad: [unknown, RegExp][] = [
    [{ name: 'cmdcm', dimm: 3 }, /cfg\.json: unknown key "dimm"/],
    [{ name: 'cmdcm', dim: 0 }, /cfg\.json: "dim" must be a positive integer, got 0/],
    [{ name: 'cmdcm', towerUnits: [] }, /"towerUnits" must be a non-empty array/],
    [{ name: 'cmdcm', counterfactual: 'IPW' }, /"counterfactual" must be one of 'ipw', 'dr', 'none'/],
    [{ name: 'cmdcm', maxInverseWeight: 0.5 }, /"maxInverseWeight" must be a finite number >= 1/],
    [{ name: 'cmdcm', propensityFloor: 0 }, /"propensityFloor" must be a number in \(0, 1\)/],
    [{ name: 'cmdcm', lossWeights: { cff: 1 } }, /unknown key "lossWeights\.cff"/],
    [{ name: 'cmdcm', lossWeights: { cf: -1 } }, /"lossWeights\.cf" must be a finite number >= 0/],
    [{ name: 'dnn', counterfactual: 'ipw' }, /"counterfactual" = "ipw" is not supported by model 'dnn'/],
    [{ name: 'mmoe', gating: true }, /"gating" = true is not supported by model 'mmoe'/],
    [{ name: 'dnn', nonCartPath: true }, /"nonCartPath" = true is not supported by model 'dnn'/],
    [{ name: 'cmdcm', denseStats: { mean: [0, 1], std: [1] } }, /"denseStats" must be null or/],
    [{ name: 'cmdcm', denseStats: { mean: [0], std: [-1] } }, /"denseStats" must be null or/],
    [{ name: 'cmdcm', denseStats: [0] }, /"denseStats" must be null or/],
    [{ name: 'transformer' }, /"name" must be one of/],
    [{ dim: 4 }, /no model name/],
    [[1, 2], /must be a JSON object/],
  ];
  for (const [json, re] of bad) {
    assert.throws(() => resolveModelConfig(json, 'cfg.json'), (e: unknown) => e instanceof CmdcmError && re.test((e as Error).message), JSON.stringify(json));
  }
});

test('loadModelConfigFile: reads a file; a JSON syntax error names file:line:col', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cmdcm-model-cfg-'));
  try {
    const good = join(dir, 'good.json');
    writeFileSync(good, JSON.stringify({ name: 'mmoe', experts: 3 }));
    assert.equal(loadModelConfigFile(good).experts, 3);
    const broken = join(dir, 'broken.json');
    writeFileSync(broken, '{\n  "name": "cmdcm",\n  "dim": 8,,\n}\n');
    assert.throws(() => loadModelConfigFile(broken), (e: unknown) => e instanceof CmdcmError && new RegExp(`${broken.replace(/[.]/g, '\\.')}:3:\\d+: invalid JSON`).test((e as Error).message));
    assert.throws(() => loadModelConfigFile(join(dir, 'missing.json')), /missing\.json: cannot read model config \(ENOENT\)/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('schema mismatches are clear errors', () => {
  const s = tinySchema();
  assert.throws(() => createModel(defaultModelConfig('cmdcm'), { ...s, fields: ['item', 'category'] }), /gating needs a 'user' field/);
  assert.throws(() => createModel(defaultModelConfig('esmm'), { ...s, fields: ['user', 'category'] }), /seqPooling 'din' needs an 'item' field/);
  assert.ok(createModel({ ...defaultModelConfig('esmm'), seqPooling: 'mean' }, { ...s, fields: ['user', 'category'] }));
});

test('layouts: every model has distinct, non-overlapping named params covering the flat vector', () => {
  const s = tinySchema();
  for (const n of MODEL_NAMES) {
    const m = createModel(defaultModelConfig(n), s);
    const names = new Set(m.layout.specs.map((x) => x.name));
    assert.equal(names.size, m.layout.specs.length);
    let end = 0;
    m.layout.specs.forEach((sp, i) => {
      assert.equal(m.layout.offsets[i], end);
      end += sp.shape.reduce((a, b) => a * b, 1);
    });
    assert.equal(end, m.layout.total);
    assert.deepEqual(m.initParams(5), m.initParams(5));
    assert.equal(m.dim, 16);
  }
  // The ablations really remove parts: no gate params without gating, no direct tower without it.
  const has = (n: (typeof MODEL_NAMES)[number], prefix: string) => createModel(defaultModelConfig(n), s).layout.specs.some((x) => x.name.startsWith(prefix));
  assert.ok(has('cmdcm', 'gate/') && !has('cmdcm-nogate', 'gate/') && !has('esmm', 'gate/'));
  assert.ok(has('cmdcm', 'tower/direct/') && !has('cmdcm-nodirect', 'tower/direct/'));
  assert.ok(has('escm2-dr', 'tower/imputation/') && !has('escm2-ipw', 'tower/imputation/'));
});

test('the gates see the user statistics only (u_* columns), or every column when none is so named', () => {
  assert.deepEqual(userStatColumns(['u_a', 'i_b', 'u_c', 'ui_d']), [0, 2]);
  assert.deepEqual(userStatColumns(['x', 'y']), [0, 1]);
  const s = tinySchema(); // dense: u_win_click, i_cart_rate
  const m = createModel({ ...defaultModelConfig('cmdcm'), gateEmbedding: true, gateUserEmbedding: true }, s);
  const gateIn = m.layout.specs.find((x) => x.name === 'gate/emb/0/w')!.shape[0];
  assert.equal(gateIn, 1 + m.dim);
  // the default: no embedding gate, the tower gates see the user statistics alone
  const d = createModel(defaultModelConfig('cmdcm'), s);
  assert.ok(!d.layout.specs.some((x) => x.name.startsWith('gate/emb/')));
  assert.equal(d.layout.specs.find((x) => x.name === 'gate/atc/0/0/w')?.shape[0] ?? d.layout.specs.find((x) => x.name.startsWith('gate/atc/0/') && x.name.endsWith('/w'))!.shape[0], 1);
  const tower = m.layout.specs.find((x) => x.name === 'tower/atc/0/w')!.shape[0];
  assert.equal(tower, (s.fields.length + 1) * m.dim + s.dense.length);
});

test('the library\'s model config is typed: a misspelt key does not compile (checked by tsc)', () => {
  // @ts-expect-error 'gatting' is no ModelConfig key: tsc fails on this file if it ever compiles
  const bad: import('../../src/model/config.js').ModelConfigInput = { gatting: true };
  const good: import('../../src/model/config.js').ModelConfigInput = { gating: false, lossWeights: { cf: 0.01 } };
  assert.throws(() => resolveModelConfig(bad, 'test', 'cmdcm'), /unknown key "gatting"/);
  assert.equal(resolveModelConfig(good, 'test', 'cmdcm').lossWeights.cf, 0.01);
});

test('perTaskDense: a column masked for the delayed path moves p_atc but never p_transition (dnn: p_delayed)', () => {
  const s = tinySchema(); // dense: u_win_click, i_cart_rate
  const batch = syntheticBatch(s, 16, 5);
  for (const name of ['cmdcm', 'dnn'] as const) {
    const m = createModel({ ...defaultModelConfig(name), dim: 4, towerUnits: [8], attentionUnits: [4], gateUnits: 4, perTaskDense: true, delayedDenseMask: [1, 0] }, s);
    const params = m.initParams(3), table = new Float32Array(s.tableRows * m.dim).map((_, i) => Math.sin(i) * 0.1);
    const a = m.predict(params, table, batch);
    const moved = { ...batch, dense: batch.dense.map((v, i) => (i % 2 === 1 ? v + 3 : v)) };
    const b = m.predict(params, table, moved);
    const same = (x: Float32Array, y: Float32Array) => x.every((v, i) => v === y[i]);
    if (name === 'cmdcm') {
      assert.ok(same(a.transition, b.transition), 'the masked column does not reach the transition tower');
      assert.ok(!same(a.atc, b.atc), 'it reaches the ATC tower');
    } else {
      assert.ok(same(a.delayed, b.delayed), 'the masked column does not reach dnn');
    }
  }
});
