/**
 * End-to-end `prepare` throughput and memory, printing JSON lines:
 *
 *   node dist/bench/prepare.js [--dir DIR] [--rows 2500000,5000000] [--days 42,93] [--modes never,always]
 *     [--budget MB] [--pairs users,days] [--threads N] [--no-features] [--keep]
 *
 * Two pairs of synthetic Tianchi logs, each generated once (cached in DIR, default
 * $TMPDIR/cmdcm-bench-prepare):
 *  - `users`: about --rows rows each, the rows doubled by doubling the users (the original pair);
 *  - `days`: the first size's users over --days days each, the rows doubled with the same users
 *    (the generator's --days flag), so per-user and per-item state stays the same.
 * Each log is prepared in a fresh child process per --modes entry (`never`: in memory, `always`:
 * out of core under --budget MB, default 64; `auto`: prepare's default choice), so every run gets its own peak RSS
 * (process.resourceUsage().maxRSS) and a cold JIT, as a user's `cmdcm prepare` would. One line per
 * run: {bench:'prepare', pair, mode, rows, seconds, rowsPerSec, peakRssMB, ...}; then per pair and
 * mode a 'prepare-scaling' line (peakRssRatio against rowsRatio: the out-of-core path's peak
 * should stay flat on the `days` pair), and the addon vs TypeScript hashing + packing line from
 * bench/features.ts.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir, loadavg } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { DEFAULT_MEMORY_BUDGET_MB } from '../src/data/prepare.js';

const ROWS_PER_USER = 145; // the generator's default mix gives ~145 rows per user over 42 days

async function child(log: string, out: string, threads: number | undefined, mode: 'never' | 'always' | 'auto', budget: number | undefined): Promise<void> {
  const { prepare } = await import('../src/data/prepare.js');
  const { openDataset } = await import('../src/data/dataset.js');
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  const r = await prepare({ logs: [log], promos: 'auto', out, progress: false, threads, outOfCore: mode, memoryBudgetMB: budget });
  const sec = (performance.now() - t0) / 1000;
  // CPU seconds of the whole process (all threads): on a shared machine wall time also counts
  // time spent waiting for a core, so rows per CPU-second is the steadier figure
  const cu = process.cpuUsage(c0);
  const cpuSec = (cu.user + cu.system) / 1e6;
  const rssAfterPrepare = process.resourceUsage().maxRSS;
  // sequence materialization at load time (packSequences), on the validation split
  const ds = await openDataset(out);
  const t1 = performance.now();
  const valid = await ds.load('valid');
  const loadSec = (performance.now() - t1) / 1000;
  process.stdout.write(JSON.stringify({
    rows: r.meta.counts.events, samples: r.meta.counts.samples, seconds: +sec.toFixed(3),
    rowsPerSec: Math.round(r.meta.counts.events / sec),
    threads: threads ?? 'auto', cpuSec: +cpuSec.toFixed(3), rowsPerCpuSec: Math.round(r.meta.counts.events / cpuSec),
    loadAvg1m: +(loadavg()[0]).toFixed(2),
    phases: { readAndGroupSec: r.timings.load / 1000, buildAndWriteSec: r.timings.build / 1000 },
    peakRssMB: Math.round(rssAfterPrepare / 1024),
    outOfCore: r.outOfCore ?? false,
    users: r.meta.counts.users, items: r.meta.counts.items,
    shardMB: +(r.meta.shards.length ? dirBytes(out) / 2 ** 20 : 0).toFixed(1),
    loadValid: { samples: valid.n, seconds: +loadSec.toFixed(3), samplesPerSec: Math.round(valid.n / loadSec) },
  }) + '\n');
}

function dirBytes(dir: string): number {
  let s = statSync(join(dir, 'meta.json')).size;
  for (const f of readdirSync(join(dir, 'shards'))) s += statSync(join(dir, 'shards', f)).size;
  return s;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      dir: { type: 'string', default: join(tmpdir(), 'cmdcm-bench-prepare') },
      rows: { type: 'string', default: '2500000,5000000' },
      days: { type: 'string', default: '42,93' },
      modes: { type: 'string', default: 'never,always' },
      pairs: { type: 'string', default: 'users,days' },
      budget: { type: 'string' },
      'no-features': { type: 'boolean', default: false },
      keep: { type: 'boolean', default: false },
      child: { type: 'string' },
      threads: { type: 'string' },
      out: { type: 'string' },
      mode: { type: 'string' },
    },
  });
  const threads = values.threads ? Number(values.threads) : undefined;
  // the out-of-core runs get 64 MB unless told; 'auto' and 'never' keep prepare's default
  const budget = values.budget ? Number(values.budget) : undefined;
  if (values.child) return child(values.child, values.out!, threads, (values.mode ?? 'auto') as 'never' | 'always' | 'auto', budget);
  const alwaysBudget = budget ?? 64;
  const dir = values.dir!;
  mkdirSync(dir, { recursive: true });
  const { generate } = await import('../src/data/generate.js');
  const self = fileURLToPath(import.meta.url);
  const rowTargets = values.rows!.split(',').map(Number);
  const days = values.days!.split(',').map(Number);
  const logFor = async (users: number, d: number): Promise<string> => {
    // the 42-day logs keep the name earlier runs cached them under
    const log = join(dir, d === 42 ? `log-${users}u.csv` : `log-${users}u-${d}d.csv`);
    if (!existsSync(log) || !existsSync(log + '.promos.json')) {
      const t = performance.now();
      const g = await generate({ out: log, users, items: Math.max(2000, Math.round(users / 2)), days: d, seed: 1 });
      process.stderr.write(`generated ${log}: ${g.rows} rows in ${((performance.now() - t) / 1000).toFixed(1)} s\n`);
    }
    return log;
  };
  const usersFor = (rows: number) => Math.max(100, Math.round(rows / ROWS_PER_USER));
  const pairs: { pair: string; logs: string[] }[] = [];
  for (const p of values.pairs!.split(',')) {
    if (p === 'users') pairs.push({ pair: 'users', logs: await Promise.all(rowTargets.map((r) => logFor(usersFor(r), 42))) });
    else if (p === 'days') pairs.push({ pair: 'days', logs: await Promise.all(days.map((d) => logFor(usersFor(rowTargets[0]), d))) });
    else throw new Error(`--pairs: unknown pair '${p}' (users, days)`);
  }
  const modes = values.modes!.split(',');
  for (const { pair, logs } of pairs) {
    for (const mode of modes) {
      const results: { rows: number; peakRssMB: number; rowsPerSec: number; users: number }[] = [];
      for (const log of logs) {
        const out = join(dir, `ds-${mode}`);
        const b = mode === 'always' ? alwaysBudget : budget;
        const r = spawnSync(process.execPath, [self, '--child', log, '--out', out, '--mode', mode, ...(b ? ['--budget', String(b)] : []),
          ...(threads ? ['--threads', String(threads)] : [])], {
          encoding: 'utf8', env: { ...process.env, CMDCM_LOG_LEVEL: 'silent', CMDCM_NO_PROGRESS: '1' }, maxBuffer: 1 << 24,
        });
        if (r.status !== 0) throw new Error(`child failed (${r.status}): ${r.stderr}`);
        const res = JSON.parse(r.stdout.trim().split('\n').pop()!);
        results.push(res);
        process.stdout.write(JSON.stringify({ bench: 'prepare', pair, mode, budgetMB: b ?? DEFAULT_MEMORY_BUDGET_MB, log, fileMB: +(statSync(log).size / 2 ** 20).toFixed(1), ...res }) + '\n');
        if (!values.keep) rmSync(out, { recursive: true, force: true });
      }
      if (results.length >= 2) {
        const [a, b] = [results[0], results[results.length - 1]];
        process.stdout.write(JSON.stringify({
          bench: 'prepare-scaling', pair, mode, rows: results.map((x) => x.rows), users: results.map((x) => x.users),
          peakRssMB: results.map((x) => x.peakRssMB),
          rowsRatio: +(b.rows / a.rows).toFixed(2), peakRssRatio: +(b.peakRssMB / a.peakRssMB).toFixed(2),
          rssBytesPerRow: results.map((x) => +((x.peakRssMB * 2 ** 20) / x.rows).toFixed(1)),
          rowsPerSec: results.map((x) => x.rowsPerSec), minRowsPerSec: Math.min(...results.map((x) => x.rowsPerSec)),
        }) + '\n');
      }
    }
  }
  if (!values['no-features']) {
    let bf: ((o?: Record<string, number>) => unknown) | undefined;
    try {
      bf = (await import('./features.js')).benchFeatures as typeof bf;
    } catch (e) {
      process.stdout.write(JSON.stringify({ bench: 'features', skipped: `bench/features.ts unavailable: ${(e as Error).message}` }) + '\n');
    }
    if (bf) process.stdout.write(JSON.stringify(bf({ reps: 2 })) + '\n');
  }
}

await main();
