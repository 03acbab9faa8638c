import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadEvents } from '../../src/data/events.js';
import { readLog, type RowBatch } from '../../src/data/readers/read.js';
import type { ReadOptions } from '../../src/data/readers/options.js';
import { readOptionsFromFlags } from '../../src/cli/flags/read.js';
import { loadAddon } from '../../src/native.js';

/**
 * The addon's row scanner (native/data/scan.cc) against the TypeScript row loop it accelerates
 * (read.ts; CMDCM_NO_NATIVE_SCAN=1 forces it): on the real logs and on random logs full of quirks
 * and bad rows, both must give identical events, vocabularies and bad-row reports.
 */
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const REAL = join(ROOT, '..', 'shared', 'data', 'real');
const hasAddon = typeof loadAddon()?.scanLogRows === 'function';
const skipNative = hasAddon ? false : 'addon not built: only the TypeScript path exists';

async function loadBoth(files: string[], opts: ReadOptions) {
  const prev = process.env.CMDCM_NO_NATIVE_SCAN;
  try {
    process.env.CMDCM_NO_NATIVE_SCAN = '1';
    const ts = await loadEvents(files, opts).catch((e: Error) => e);
    delete process.env.CMDCM_NO_NATIVE_SCAN;
    const nat = await loadEvents(files, opts).catch((e: Error) => e);
    return { ts, nat };
  } finally {
    if (prev === undefined) delete process.env.CMDCM_NO_NATIVE_SCAN;
    else process.env.CMDCM_NO_NATIVE_SCAN = prev;
  }
}

function assertSame(a: Awaited<ReturnType<typeof loadBoth>>['ts'], b: typeof a, what: string): void {
  if (a instanceof Error || b instanceof Error) {
    assert.ok(a instanceof Error && b instanceof Error, `${what}: one path threw, the other did not: ${String(a instanceof Error ? a.message : b instanceof Error ? b.message : '')}`);
    assert.equal(b.message, a.message, what);
    return;
  }
  assert.deepEqual(b.reports, a.reports, `${what}: reports`);
  assert.deepEqual(b.events, a.events, `${what}: events`);
}

const realFiles = existsSync(REAL) ? ['tianchi_mobile2014_user_head2k.csv', 'tianchi_taobao_userbehavior2017_head_contig.csv',
  'tianchi_taobao_userbehavior2017_tail_contig.csv', 'tianchi_tmall_ijcai15_user_log_head_contig.csv', 'tianchi_tmall_ijcai15_user_log_random3k.csv'] : [];

test('native scan == TypeScript on the real logs (auto-detected, and other/ by explicit mapping)', { skip: skipNative || (realFiles.length ? false : 'no shared/data/real') }, async () => {
  for (const f of realFiles) {
    const r = await loadBoth([join(REAL, f)], {});
    assert.ok(!(r.ts instanceof Error) && r.ts.events.n > 1000, f);
    assertSame(r.ts, r.nat, f);
  }
  const other = readOptionsFromFlags({ columns: 'user=0,item=1,category=2,seller=3,brand=4,month=5,day=6,behavior=7', behaviors: '0=click,1=cart,2=buy,3=collect' });
  const r = await loadBoth([join(REAL, 'other', 'tianchi_tmall_ijcai15_dblab_user_log_1111only_contig.csv')], other);
  assertSame(r.ts, r.nat, 'other/');
});

test('the native scan is used: a bulk sink receives batches covering every good row', { skip: skipNative || (realFiles.length ? false : 'no shared/data/real') }, async () => {
  let batched = 0, single = 0;
  const rep = await readLog(join(REAL, 'tianchi_taobao_userbehavior2017_head_contig.csv'), {}, {
    row() { single++; },
    rows(_b: Buffer, batch: RowBatch) { batched += batch.n; },
  });
  assert.equal(batched + single, rep.rows);
  assert.ok(batched > rep.rows * 0.99, `only ${batched} of ${rep.rows} rows went through the addon`);
});

/** xorshift32, so a failing case can be replayed by its seed */
function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => { s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0; return s / 4294967296; };
}

type Fmt = 'tianchi' | 'taobao' | 'tmall';

/** A random log of one format with quirky but good ids and times, and a sprinkle of bad rows. */
function randomLog(fmt: Fmt, seed: number, rows: number): string {
  const r = rng(seed);
  const pick = <T>(a: readonly T[]): T => a[Math.floor(r() * a.length)];
  const id = (): string => {
    const x = r();
    const n = String(1 + Math.floor(r() * 500));
    if (x < 0.6) return n;
    if (x < 0.7) return n + '.0';
    if (x < 0.75) return n + '.00';
    if (x < 0.8) return '0' + n; // leading zero: an exact string id
    if (x < 0.85) return 'u' + n; // alphanumeric
    if (x < 0.88) return '1234567890123456'.slice(0, 14 + Math.floor(r() * 4)); // 14..17 digits
    if (x < 0.9) return n + '.5';
    if (x < 0.92) return 'Ü' + n;
    return String(Math.floor(r() * 40));
  };
  const lines: string[] = [];
  if (fmt === 'tianchi') lines.push('user_id,item_id,behavior_type,user_geohash,item_category,time');
  if (fmt === 'tmall') lines.push('user_id,item_id,cat_id,seller_id,brand_id,time_stamp,action_type');
  for (let i = 0; i < rows; i++) {
    const bad = r() < 0.03;
    const d = 1 + Math.floor(r() * 28), h = Math.floor(r() * 24);
    let f: string[];
    if (fmt === 'tianchi') {
      const time = `2014-${pick(['11', '12'])}-${String(d).padStart(2, '0')} ${String(h).padStart(2, '0')}`;
      f = [id(), id(), pick(['1', '2', '3', '4']), pick(['', '', '9r5g2k1', '96ulk0l', 'x']), id(), time];
      if (bad) {
        const k = Math.floor(r() * 7);
        if (k === 0) f[2] = pick(['5', '0', '11', '']);
        else if (k === 1) f[5] = pick(['2014-13-01 00', '2014-11-31 00', '2014-11-01 24', '2014-11-01', '2014/11/01 05', '2014-11-01 05:30', 'x']);
        else if (k === 2) f[Math.floor(r() * 2)] = '';
        else if (k === 3) f.push('extra');
        else if (k === 4) f = f.slice(0, 5);
        else if (k === 5) f[4] = '';
        else f = [''];
      }
    } else if (fmt === 'taobao') {
      f = [id(), id(), id(), pick(['pv', 'pv', 'pv', 'cart', 'fav', 'buy']), String(1511500000 + Math.floor(r() * 900000)) + (r() < 0.05 ? '.0' : '')];
      if (bad) {
        const k = Math.floor(r() * 4);
        if (k === 0) f[3] = pick(['click', 'pvv', 'p', '']);
        else if (k === 1) f[4] = pick(['-5', '15115x', '1511500000.5', '', '99999999999']);
        else if (k === 2) f[2] = '';
        else f.push('1');
      }
    } else {
      f = [id(), id(), id(), id(), pick(['', id()]), (r() < 0.5 ? '' : '0') + String(pick([5, 6, 10, 11])) + String(d).padStart(2, '0'), pick(['0', '1', '2', '3'])];
      if (bad) {
        const k = Math.floor(r() * 3);
        if (k === 0) f[5] = pick(['1311', '0230', '11', '12345', '']);
        else if (k === 1) f[6] = pick(['4', '']);
        else f[0] = '';
      }
    }
    lines.push(f.join(','));
  }
  const eol = seed % 2 ? '\r\n' : '\n';
  return lines.join(eol) + (seed % 3 ? eol : '');
}

test('native scan == TypeScript on random logs with quirks and bad rows', { skip: skipNative }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'cmdcm-scan-'));
  try {
    for (let seed = 1; seed <= 24; seed++) {
      const fmt = (['tianchi', 'taobao', 'tmall'] as const)[seed % 3];
      const file = join(dir, `${fmt}-${seed}.csv`);
      writeFileSync(file, randomLog(fmt, seed, 300 + seed * 50));
      const opts: ReadOptions = { format: fmt === 'tianchi' ? 'tianchi2014' : fmt === 'taobao' ? 'taobao2017' : 'tmall2015', maxBadRows: seed % 4 === 0 ? 5 : 0.5, year: 2015 };
      const r = await loadBoth([file], opts);
      if (!(r.ts instanceof Error)) assert.ok(r.ts.reports[0].badRows > 0 || seed % 4 === 0, `seed ${seed}: the random log has bad rows`);
      assertSame(r.ts, r.nat, `seed ${seed} (${fmt})`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
