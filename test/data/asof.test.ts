import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync, copyFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generate } from '../../src/data/generate.js';
import { prepare } from '../../src/data/prepare.js';
import { openDataset, type Dataset } from '../../src/data/dataset.js';
import { resolveAsOf, delayQuantileHours, labelHorizons, maskImmatureLabels } from '../../src/data/asof.js';
import { readCheckpoint } from '../../src/train/checkpoint.js';
import { trainRun } from '../../src/train/run.js';
import { Rng } from '../../src/data/generate.js';

process.env.CMDCM_LOG_LEVEL ??= 'silent';
const root = mkdtempSync(join(tmpdir(), 'cmdcm-asof-'));
process.on('exit', () => rmSync(root, { recursive: true, force: true }));

const ASOF = '2014-12-09 00';
const WINDOW_START = '2014-12-02 00';
const PROMO_DAY = '2014-12-12 00';

/** The generated log's rows, and which of them are the test clicks (target clicks at or after asOf). */
function rowsOf(path: string): { header: string; rows: string[][] } {
  const lines = readFileSync(path, 'utf8').trimEnd().split('\n');
  return { header: lines[0], rows: lines.slice(1).map((l) => l.split(',')) };
}
const isTestClick = (r: string[]) => r[2] === '1' && r[5] >= ASOF && r[5] >= WINDOW_START && r[5] < PROMO_DAY;
const isAfterAsOf = (r: string[]) => r[5] >= ASOF;

async function prepared(name: string, header: string, rows: string[][], sidecar: string): Promise<Dataset> {
  const log = join(root, `${name}.csv`);
  writeFileSync(log, [header, ...rows.map((r) => r.join(','))].join('\n') + '\n');
  copyFileSync(sidecar, `${log}.promos.json`);
  await prepare({ logs: [log], promos: 'auto', out: join(root, `${name}-ds`), progress: false, shardSize: 4000 });
  return openDataset(join(root, `${name}-ds`));
}

async function splitBytes(ds: Dataset, split: 'train' | 'valid'): Promise<Buffer> {
  const c = await ds.load(split);
  const cols = [c.fields, c.dense, c.labels, c.mask, c.user, c.item, c.time, c.promo, c.daysToPromo, c.seq, c.seqLen];
  return Buffer.concat(cols.map((a) => Buffer.from(a.buffer, a.byteOffset, a.byteLength)));
}

test('as-of: changing or deleting every event at or after asOf (but the test clicks) leaves train and valid byte-identical and training identical', async () => {
  const g = await generate({ out: join(root, 'base.csv'), seed: 5, users: 400, items: 300 });
  const { header, rows } = rowsOf(g.out);
  const after = rows.filter((r) => isAfterAsOf(r) && !isTestClick(r));
  assert.ok(after.length > 1000, `the log has events after asOf to change (${after.length})`);
  const items = [...new Set(rows.map((r) => r[1]))];
  const rng = new Rng(11);

  // deleted: every event at or after asOf but the test clicks
  const deleted = rows.filter((r) => !isAfterAsOf(r) || isTestClick(r));
  // changed: each such event gets another behavior, another item of the log and a later hour
  const changed = rows.map((r) => {
    if (!isAfterAsOf(r) || isTestClick(r)) return r;
    const b = String(((Number(r[2]) + rng.int(3)) % 4) + 1);
    const day = r[5].slice(0, 10), h = Math.min(23, Number(r[5].slice(11)) + 1);
    return [r[0], items[rng.int(items.length)], b, r[3], r[4], `${day} ${String(h).padStart(2, '0')}`];
  });

  const base = await prepared('base', header, rows, g.sidecar);
  const del = await prepared('deleted', header, deleted, g.sidecar);
  const chg = await prepared('changed', header, changed, g.sidecar);
  assert.equal(base.meta.asOfText, '2014-12-09 00:00');
  assert.ok(base.meta.counts.perSplit.test > 500 && base.meta.counts.perSplit.train > 5000);
  for (const other of [del, chg]) {
    assert.deepEqual(other.meta.schema, base.meta.schema, 'same tables');
    assert.deepEqual(other.meta.labelHorizons, base.meta.labelHorizons);
    for (const split of ['train', 'valid'] as const) {
      assert.ok((await splitBytes(other, split)).equals(await splitBytes(base, split)), `${split} split byte-identical`);
    }
  }
  assert.equal(del.meta.counts.perSplit.test, base.meta.counts.perSplit.test, 'the same test clicks');
  // the deleted log lost the promotion-day outcome: the test labels differ, training does not
  assert.equal(del.meta.targetOutcomeKnown, false);

  const train = { epochs: 1, maxSteps: 6, batchSize: 512, seed: 3, checkpointEvery: 0 };
  const params = async (ds: Dataset, name: string) => {
    await trainRun({ data: ds, model: 'cmdcm', out: join(root, name), train });
    const ck = await readCheckpoint(join(root, name, 'ckpt-latest.cmck'));
    return Buffer.concat([Buffer.from(ck.state.params.buffer), Buffer.from(ck.state.table.buffer)]);
  };
  assert.ok((await params(del, 'run-del')).equals(await params(base, 'run-base')), 'identical parameters for the same seed');
});

test('as-of: the serving time from --test-days / --as-of, rounded to the clock, inside the pre-window', () => {
  const target = { date: '2014-12-12', day: 16416, preDays: 10 };
  assert.equal(resolveAsOf(target, {}, 3600), (16416 - 3) * 86400);
  assert.equal(resolveAsOf(target, { testDays: 1 }, 3600), (16416 - 1) * 86400);
  assert.equal(resolveAsOf(target, { asOf: '2014-12-10 07:30' }, 3600), (16416 - 2) * 86400 + 8 * 3600, 'rounded up to the hour');
  assert.equal(resolveAsOf(target, { asOf: '2014-12-10 07:30' }, 86400), (16416 - 1) * 86400, 'rounded up to the day');
  assert.throws(() => resolveAsOf(target, { testDays: 11 }, 3600), /--test-days: 11 days is longer than the target's 10-day pre-window/);
  assert.throws(() => resolveAsOf(target, { testDays: 0 }, 3600), /--test-days: must be a positive integer/);
  assert.throws(() => resolveAsOf(target, { asOf: '2014-12-01' }, 3600), /--as-of: the serving time 2014-12-01 00:00 must fall inside/);
  assert.throws(() => resolveAsOf(target, { asOf: 'yesterday' }, 3600), /--as-of: 'yesterday' is not a date-time/);
});

test('as-of: label horizons are the 90 % quantile of the historical delays; young labels are masked', () => {
  const hist = new Array(100).fill(0);
  hist[0] = 60; hist[5] = 30; hist[40] = 10;
  assert.equal(delayQuantileHours(hist), 6, '90 % of the delays within 6 hours');
  assert.equal(delayQuantileHours([3, 1]), null, 'too few positives');
  assert.deepEqual(labelHorizons({ atc: hist, direct: [1] }), { atc: 6, direct: 24 });
  const asOf = 1000 * 3600;
  const time = Int32Array.from([asOf - 2 * 3600, asOf - 6 * 3600, asOf - 30 * 3600]);
  const mask = new Uint8Array(9).fill(1);
  maskImmatureLabels(time, mask, 0, 3, asOf, { atc: 6, direct: 24 });
  assert.deepEqual(Array.from(mask), [0, 0, 1, 0, 1, 1, 1, 1, 1]);
});
