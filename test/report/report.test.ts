import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeRunReport } from '../../src/report/run-report.js';
import { reliabilityBins } from '../../src/report/svg.js';

function fakeRun(root: string, name: string, steps: number, validEvery: number): string {
  const dir = join(root, name);
  const lines: object[] = [];
  for (let s = 1; s <= steps; s++) {
    lines.push({ type: 'step', time: new Date(1_700_000_000_000 + s * 1000).toISOString(), step: s, epoch: 0, loss: 1 / s, terms: { atc: 0.6 / s, direct: 0.4 / s }, lr: 0.001 });
    if (s % validEvery === 0) lines.push({ type: 'valid', time: new Date().toISOString(), step: s, metric: 0.5 + 1 / s, logloss: { atc: 0.3 + 1 / s, delayed: null } });
  }
  lines.push({ type: 'end', steps });
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'metrics.jsonl'), lines.map((l) => JSON.stringify(l)).join('\n') + '\n');
  return dir;
}

test('report: one self-contained page with the runs\' loss terms, validation points and eval metrics', async () => {
  const root = mkdtempSync(join(tmpdir(), 'cmdcm-report-'));
  try {
    const a = fakeRun(root, 'a', 30, 10), b = fakeRun(root, 'b', 20, 5);
    writeFileSync(join(a, 'eval.json'), JSON.stringify({
      tasks: { atc: { n: 100, positives: 9, auc: 0.71, gauc: 0.66, logloss: 0.3, pcoc: 1.02 } },
      byDaysToPromo: { 1: { atc: { auc: 0.7, pcoc: 1.1 } }, 2: { atc: { auc: 0.72, pcoc: 0.95 } } },
    }));
    const out = join(root, 'both.html');
    const { path, html } = await writeRunReport({ runs: [a, b], out, reliability: false });
    assert.equal(path, out);
    assert.equal(readFileSync(out, 'utf8'), html);
    // self-contained: no script, no link, no URL other than the SVG namespace
    assert.doesNotMatch(html, /<script|<link|src=/);
    assert.deepEqual([...new Set(html.match(/https?:\/\/[^"' )]+/g))], ['http://www.w3.org/2000/svg']);
    // the validation points of each run, with their values
    const pts = [...html.matchAll(/class="pt" data-series="([^"]+)" data-x="([^"]+)" data-y="([^"]+)"/g)].map((m) => [m[1], +m[2], +m[3]] as const);
    const validOf = (run: string) => pts.filter(([s, x, y]) => s === run && Math.abs(y - (0.5 + 1 / x)) < 1e-12).map(([, x]) => x);
    assert.deepEqual(validOf('a'), [10, 20, 30]);
    assert.deepEqual(validOf('b'), [5, 10, 15, 20]);
    // every loss term of each run is a series, and the eval table holds the run's AUC
    for (const run of ['a', 'b']) assert.match(html, new RegExp(`${run}: loss terms`));
    assert.match(html, /data-name="atc"/);
    assert.match(html, /<td>a<\/td><td>atc<\/td><td>100<\/td><td>9<\/td><td>0\.7100<\/td>/);
    assert.match(html, /atc AUC by days to promotion/);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('report: a missing metrics.jsonl is a one-line error naming the directory; several runs need --out', async () => {
  const root = mkdtempSync(join(tmpdir(), 'cmdcm-report-'));
  try {
    await assert.rejects(writeRunReport({ runs: [root], reliability: false }), (e: Error) => e.message.includes(root) && e.message.includes('metrics.jsonl'));
    await assert.rejects(writeRunReport({ runs: [root, root], reliability: false }), /--out/);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('reliabilityBins: equal-count bins over the masked samples with their mean prediction and label', () => {
  const pred = Float32Array.from([0.1, 0.9, 0.2, 0.8, 0.3, 0.7, 0.5, 0.5]);
  const label = Float32Array.from([0, 1, 0, 1, 1, 0, 1, 0]);
  const bins = reliabilityBins(pred, label, (i) => i < 6, 3);
  assert.deepEqual(bins.map((b) => b.n), [2, 2, 2]);
  assert.ok(Math.abs(bins[0].meanPred - 0.15) < 1e-6 && bins[0].meanLabel === 0);
  assert.ok(Math.abs(bins[1].meanPred - 0.5) < 1e-6 && bins[1].meanLabel === 0.5);
  assert.ok(Math.abs(bins[2].meanPred - 0.85) < 1e-6 && bins[2].meanLabel === 1);
});
