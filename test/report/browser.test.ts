import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { renderReport } from '../../src/report/run-report.js';

// The report opened in a real headless browser (Debian's chromium, driven by playwright-core): it
// loads with no console errors and its charts hold the run's points. Skipped where chromium is not
// installed (.ci/run installs it); CHROMIUM_PATH names another binary. CMDCM_REPORT_SCREENSHOT=FILE
// saves a screenshot of the page.
const chromium = process.env.CHROMIUM_PATH ?? ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => existsSync(p));

test('the report page renders in headless chromium with no console errors and all its points', { skip: chromium ? false : 'no chromium installed' }, async () => {
  const { chromium: pw } = await import('playwright-core');
  const root = mkdtempSync(join(tmpdir(), 'cmdcm-report-browser-'));
  const browser = await pw.launch({ executablePath: chromium, args: ['--no-sandbox', '--disable-gpu'] });
  try {
    const steps = Array.from({ length: 40 }, (_, i) => ({ step: i + 1, loss: 1 / (i + 1), terms: { atc: 0.5 / (i + 1), cf: 0.1 / (i + 1) } }));
    const valids = [10, 20, 30, 40].map((s) => ({ step: s, metric: 0.4 + 1 / s, logloss: { atc: 0.3 + 1 / s } }));
    const bins = Array.from({ length: 10 }, (_, i) => ({ lo: i / 10, hi: (i + 1) / 10, n: 50, meanPred: i / 10 + 0.05, meanLabel: i / 10 + 0.03 }));
    const html = renderReport([{ dir: root, name: 'run', steps, valids, reliability: { atc: bins, delayed: bins } }]);
    const file = join(root, 'report.html');
    writeFileSync(file, html);
    const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
    const errors: string[] = [];
    page.on('console', (m) => { if (m.type() === 'error' || m.type() === 'warning') errors.push(m.text()); });
    page.on('pageerror', (e) => errors.push(String(e)));
    page.on('request', (r) => { if (!r.url().startsWith('file:')) errors.push(`network request: ${r.url()}`); });
    await page.goto(pathToFileURL(file).href, { waitUntil: 'load' });
    const got = await page.evaluate(() => ({
      charts: document.querySelectorAll('svg.chart').length,
      points: [...document.querySelectorAll('circle.pt')].map((c) => [c.getAttribute('data-series'), Number(c.getAttribute('data-x')), Number(c.getAttribute('data-y'))]),
      rendered: [...document.querySelectorAll('svg.chart')].every((s) => s.getBoundingClientRect().width > 100),
    }));
    assert.deepEqual(errors, []);
    assert.ok(got.rendered, 'every chart is laid out');
    // loss, 1 loss-terms chart, validation metric, validation atc, 2 reliability diagrams
    assert.equal(got.charts, 6);
    const validPts = got.points.filter(([s, x, y]) => s === 'run' && Math.abs((y as number) - (0.4 + 1 / (x as number))) < 1e-9).map(([, x]) => x);
    assert.deepEqual(validPts, [10, 20, 30, 40]);
    assert.equal(got.points.filter(([s]) => s === null).length, 20, 'ten reliability points per task');
    if (process.env.CMDCM_REPORT_SCREENSHOT) await page.screenshot({ path: process.env.CMDCM_REPORT_SCREENSHOT, fullPage: true });
  } finally {
    await browser.close();
    rmSync(root, { recursive: true, force: true });
  }
});
