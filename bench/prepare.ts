/**
 * End-to-end `prepare` throughput and memory, printing JSON lines:
 *
 *   node dist/bench/prepare.js [--dir DIR] [--rows 2500000,5000000] [--threads N] [--no-features] [--keep]
 *
 * For each size a synthetic Tianchi log of about that many rows is generated once (cached in DIR,
 * default $TMPDIR/cmdcm-bench-prepare) and prepared in a fresh child process, so every size gets
 * its own peak RSS (process.resourceUsage().maxRSS) and a cold JIT, as a user's `cmdcm prepare`
 * would. One line per size: {bench:'prepare', rows, seconds, rowsPerSec, peakRssMB, ...}; then a
 * summary line comparing the sizes (RSS per row should stay flat or fall: memory follows the
 * columnar event store and the per-shard buffers, not the file size), and the addon vs TypeScript
 * hashing + packing line from bench/features.ts.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir, loadavg } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const ROWS_PER_USER = 145; // the generator's default mix gives ~145 rows per user over 42 days

async function child(log: string, out: string, threads: number | undefined): Promise<void> {
  const { prepare } = await import('../src/data/prepare.js');
  const { openDataset } = await import('../src/data/dataset.js');
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  const r = await prepare({ logs: [log], promos: 'auto', out, progress: false, threads });
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
      'no-features': { type: 'boolean', default: false },
      keep: { type: 'boolean', default: false },
      child: { type: 'string' },
      threads: { type: 'string' },
      out: { type: 'string' },
    },
  });
  const threads = values.threads ? Number(values.threads) : undefined;
  if (values.child) return child(values.child, values.out!, threads);
  const dir = values.dir!;
  mkdirSync(dir, { recursive: true });
  const { generate } = await import('../src/data/generate.js');
  const self = fileURLToPath(import.meta.url);
  const results: { rows: number; peakRssMB: number; rowsPerSec: number }[] = [];
  for (const target of values.rows!.split(',').map(Number)) {
    const users = Math.max(100, Math.round(target / ROWS_PER_USER));
    const log = join(dir, `log-${users}u.csv`);
    if (!existsSync(log) || !existsSync(log + '.promos.json')) {
      const t = performance.now();
      const g = await generate({ out: log, users, items: Math.max(2000, Math.round(users / 2)), seed: 1 });
      process.stderr.write(`generated ${log}: ${g.rows} rows in ${((performance.now() - t) / 1000).toFixed(1)} s\n`);
    }
    const out = join(dir, `ds-${users}u`);
    const r = spawnSync(process.execPath, [self, '--child', log, '--out', out, ...(threads ? ['--threads', String(threads)] : [])], {
      encoding: 'utf8', env: { ...process.env, CMDCM_LOG_LEVEL: 'silent', CMDCM_NO_PROGRESS: '1' }, maxBuffer: 1 << 24,
    });
    if (r.status !== 0) throw new Error(`child failed (${r.status}): ${r.stderr}`);
    const res = JSON.parse(r.stdout.trim().split('\n').pop()!);
    results.push(res);
    process.stdout.write(JSON.stringify({ bench: 'prepare', log, fileMB: +(statSync(log).size / 2 ** 20).toFixed(1), ...res }) + '\n');
    if (!values.keep) rmSync(out, { recursive: true, force: true });
  }
  if (results.length >= 2) {
    const [a, b] = [results[0], results[results.length - 1]];
    process.stdout.write(JSON.stringify({
      bench: 'prepare-scaling', rowsRatio: +(b.rows / a.rows).toFixed(2), peakRssRatio: +(b.peakRssMB / a.peakRssMB).toFixed(2),
      rssBytesPerRow: results.map((x) => +((x.peakRssMB * 2 ** 20) / x.rows).toFixed(1)),
      minRowsPerSec: Math.min(...results.map((x) => x.rowsPerSec)),
    }) + '\n');
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
