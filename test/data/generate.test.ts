import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, existsSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generate, Rng } from '../../src/data/generate.js';

const dir = mkdtempSync(join(tmpdir(), 'cmdcm-gen-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('Rng: deterministic by seed, different across seeds, uniform enough', () => {
  const a = new Rng(5), b = new Rng(5), c = new Rng(6);
  const xa = Array.from({ length: 1000 }, () => a.next());
  assert.deepEqual(xa, Array.from({ length: 1000 }, () => b.next()));
  assert.notDeepEqual(xa, Array.from({ length: 1000 }, () => c.next()));
  const mean = xa.reduce((s, x) => s + x, 0) / xa.length;
  assert.ok(Math.abs(mean - 0.5) < 0.05, `mean ${mean}`);
  assert.ok(xa.every((x) => x >= 0 && x < 1));
});

test('generate is deterministic by seed (log and truth byte-identical), and the seed matters', async () => {
  const o = { users: 150, items: 200 };
  await generate({ ...o, out: join(dir, 'a.csv'), truth: join(dir, 'a.truth.csv'), seed: 11 });
  await generate({ ...o, out: join(dir, 'b.csv'), truth: join(dir, 'b.truth.csv'), seed: 11 });
  await generate({ ...o, out: join(dir, 'c.csv'), seed: 12 });
  assert.ok(readFileSync(join(dir, 'a.csv')).equals(readFileSync(join(dir, 'b.csv'))));
  assert.ok(readFileSync(join(dir, 'a.truth.csv')).equals(readFileSync(join(dir, 'b.truth.csv'))));
  assert.ok(!readFileSync(join(dir, 'a.csv')).equals(readFileSync(join(dir, 'c.csv'))));
  // no temp files left behind
  assert.deepEqual(readdirSync(dir).filter((f) => f.includes('.tmp-')), []);
});

test('generated log: Tianchi format, realistic marginals, a promotion-day buy spike, a confounded transition', async () => {
  const out = join(dir, 'm.csv'), truth = join(dir, 'm.truth.csv');
  const r = await generate({ out, truth, seed: 3, users: 800, items: 600 });
  const lines = readFileSync(out, 'utf8').trimEnd().split('\n');
  assert.equal(lines[0], 'user_id,item_id,behavior_type,user_geohash,item_category,time');
  assert.equal(lines.length - 1, r.rows);
  const perDay = new Map<string, number[]>();
  const counts = [0, 0, 0, 0, 0];
  for (const l of lines.slice(1)) {
    const f = l.split(',');
    assert.equal(f.length, 6);
    assert.match(f[5], /^2014-1[12]-\d\d \d\d$/);
    const b = Number(f[2]);
    counts[b]++;
    const d = f[5].slice(0, 10);
    if (!perDay.has(d)) perDay.set(d, [0, 0, 0, 0, 0]);
    perDay.get(d)![b]++;
  }
  assert.deepEqual([counts[1], counts[2], counts[3], counts[4]], [r.perBehavior.click, r.perBehavior.collect, r.perBehavior.cart, r.perBehavior.buy]);
  const cartRate = counts[3] / counts[1], buyRate = counts[4] / counts[1];
  assert.ok(cartRate > 0.02 && cartRate < 0.08, `carts per click ${cartRate}`);
  assert.ok(buyRate > 0.01 && buyRate < 0.03, `buys per click ${buyRate}`);
  // promotion-day spike: buys on 12-12 and 11-11 vs the median ordinary day
  const ordinary = [...perDay.entries()].filter(([d]) => d >= '2014-11-13' && d <= '2014-11-30').map(([, c]) => c[4]).sort((a, b) => a - b);
  const median = ordinary[ordinary.length >> 1];
  for (const pd of ['2014-11-11', '2014-12-12']) {
    const spike = perDay.get(pd)![4] / median;
    assert.ok(spike > 3 && spike < 20, `${pd} buys ${spike.toFixed(1)}x an ordinary day`);
  }
  assert.deepEqual(r.promotions, [{ date: '2014-11-11', preDays: 10 }, { date: '2014-12-12', preDays: 10 }]);
  assert.deepEqual(JSON.parse(readFileSync(r.sidecar, 'utf8')), { promotions: r.promotions, target: '2014-12-12' });

  // ground truth: probabilities in range, p_delayed consistent with its parts; selection bias
  const t = readFileSync(truth, 'utf8').trimEnd().split('\n');
  assert.equal(t[0], 'user_id,item_id,time,p_direct,p_atc,p_transition,p_delayed,direct,atc,delayed');
  const rows = t.slice(1).map((l) => l.split(','));
  assert.equal(rows.length, r.truthRows);
  let sumT = 0, nAtc = 0, delAtc = 0;
  for (const f of rows) {
    assert.match(f[2], /^2014-12-(0[2-9]|1[01]) \d\d$/, 'truth covers the target pre-window only');
    const [pd, pa, pt, pdel] = f.slice(3, 7).map(Number);
    for (const p of [pd, pa, pt, pdel]) assert.ok(p >= 0 && p <= 1);
    // p_delayed = p_atc * p_transition + (1 - p_direct)(1 - p_atc) p_t0 >= p_atc * p_transition
    assert.ok(pdel >= pa * pt - 2e-6, `p_delayed ${pdel} < p_atc * p_transition ${pa * pt}`);
    assert.ok(pt <= 1 - pd + 1e-6, 'p_transition = (1 - p_direct) p_t');
    const [dir, atc, del] = f.slice(7).map(Number);
    assert.ok(!(dir && del), 'direct and delayed are exclusive');
    sumT += pt;
    if (atc) { nAtc++; delAtc += del; }
  }
  const meanT = sumT / rows.length, naive = delAtc / nAtc;
  // carting selects deal-waiters: the naive carted rate overstates the interventional average
  assert.ok(naive > 1.3 * meanT, `naive P(delayed|atc) ${naive.toFixed(3)} vs mean p_transition ${meanT.toFixed(3)}`);
});

test('bad sizes are refused naming the flag', async () => {
  await assert.rejects(generate({ out: join(dir, 'x.csv'), users: 0 }), /--users: must be an integer/);
  await assert.rejects(generate({ out: join(dir, 'x.csv'), days: 30 }), /--days: 30 days ending 2014-12-12 hold no historical promotion/);
  assert.ok(!existsSync(join(dir, 'x.csv')));
});
