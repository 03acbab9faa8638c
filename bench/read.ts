/**
 * Reader + event-store throughput on a generated Tianchi-2014-format log (users interleaved, not
 * time-sorted, like the real file). Prints one JSON line per stage:
 *   parse   — bytes → rows, null sink (the reader alone)
 *   load    — parse + id interning into columns (EventStoreBuilder, no grouping)
 *   group   — loadEvents end to end (parse + intern + CSR group + time sort)
 *   gz      — loadEvents on the same log gzipped (only with --gz)
 * usage: node dist/bench/read.js [--rows 5000000] [--users 20000] [--gz] [--file LOG (bench an existing log, kept)]
 * CMDCM_NO_NATIVE_SCAN=1 (or CMDCM_NO_NATIVE=1) measures the TypeScript row loop instead of the addon's.
 */
import { mkdtempSync, rmSync, openSync, writeSync, closeSync, statSync, createReadStream, createWriteStream } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createGzip } from 'node:zlib';
import { pipeline } from 'node:stream/promises';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { readLog } from '../src/data/readers/read.js';
import { EventStoreBuilder, loadEvents } from '../src/data/events.js';
import { loadAddon } from '../src/native.js';

/** which row loop read the log: the addon's scanner, or the TypeScript one it accelerates */
const SCAN = typeof loadAddon()?.scanLogRows === 'function' && process.env.CMDCM_NO_NATIVE_SCAN !== '1' ? 'native' : 'ts';

function arg(name: string, def: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : def;
}

/** xorshift32: the bench log is the same on every run */
function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0;
    return s / 4294967296;
  };
}

function generate(file: string, rows: number, users: number): void {
  const r = rng(42);
  const fd = openSync(file, 'w');
  const userIds = Array.from({ length: users }, () => String(10000000 + Math.floor(r() * 90000000)));
  const itemIds = Array.from({ length: 300000 }, () => String(100000000 + Math.floor(r() * 300000000)));
  const cats = Array.from({ length: 300000 }, () => String(1 + Math.floor(r() * 9000)));
  const geos = ['', '', '', '9r5g2k1', '96ulk0l', '9q9gk1u'];
  const times: string[] = [];
  for (let d = 0; d < 31; d++) {
    const day = new Date(Date.UTC(2014, 10, 18 + d)).toISOString().slice(0, 10);
    for (let h = 0; h < 24; h++) times.push(`${day} ${String(h).padStart(2, '0')}`);
  }
  let out = 'user_id,item_id,behavior_type,user_geohash,item_category,time\r\n';
  for (let i = 0; i < rows; i++) {
    const it = Math.floor(r() * r() * itemIds.length);
    const x = r();
    const b = x < 0.9 ? 1 : x < 0.93 ? 2 : x < 0.98 ? 3 : 4;
    out += `${userIds[Math.floor(r() * users)]},${itemIds[it]},${b},${geos[Math.floor(r() * geos.length)]},${cats[it]},${times[Math.floor(r() * times.length)]}\r\n`;
    if (out.length > 1 << 22) { writeSync(fd, out); out = ''; }
  }
  writeSync(fd, out);
  closeSync(fd);
}

async function main(): Promise<void> {
  let rows = arg('rows', 5_000_000);
  // 20k users like the full Tianchi 2014 log (which has 20,000 users and 4.7M items)
  const users = arg('users', 20_000);
  const given = process.argv.indexOf('--file');
  const dir = mkdtempSync(join(tmpdir(), 'cmdcm-bench-read-'));
  try {
    const file = given >= 0 ? process.argv[given + 1] : join(dir, 'log.csv');
    let t0 = performance.now();
    // generated in a child process, so the measured process starts with a clean heap
    if (given < 0) execFileSync(process.execPath, [fileURLToPath(import.meta.url), '--generate-to', file, '--rows', String(rows), '--users', String(users)], { stdio: 'inherit' });
    const genSec = (performance.now() - t0) / 1000;
    const bytes = statSync(file).size;
    if (given >= 0) rows = (await readLog(file, {}, { row() {} })).rows;
    // CPU seconds beside wall seconds: on a shared 2-core machine the wall clock mostly measures the neighbours
    let cpu0 = process.cpuUsage();
    const emit = (stage: string, sec: number, extra: Record<string, unknown> = {}) => {
      const c = process.cpuUsage(cpu0);
      const cpuSec = (c.user + c.system) / 1e6;
      process.stdout.write(JSON.stringify({
        bench: 'read', stage, rows, bytes, seconds: +sec.toFixed(3), rowsPerSec: Math.round(rows / sec), mbPerSec: +(bytes / 1e6 / sec).toFixed(1),
        cpuSeconds: +cpuSec.toFixed(3), rowsPerCpuSec: Math.round(rows / cpuSec),
        rssMB: Math.round(process.memoryUsage().rss / 1e6), scan: SCAN, ...extra,
      }) + '\n');
    };
    process.stderr.write(given >= 0 ? `benching ${file}: ${rows} rows (${(bytes / 1e6).toFixed(0)} MB)\n` : `generated ${rows} rows (${(bytes / 1e6).toFixed(0)} MB) in ${genSec.toFixed(1)}s\n`);

    t0 = performance.now();
    cpu0 = process.cpuUsage();
    let check = 0;
    await readLog(file, {}, { row(_b, _ids, beh, t) { check += beh + (t & 1); } });
    emit('parse', (performance.now() - t0) / 1000, { check });

    t0 = performance.now();
    cpu0 = process.cpuUsage();
    const b = new EventStoreBuilder(1 << 20);
    await readLog(file, {}, b);
    emit('load', (performance.now() - t0) / 1000, { users: b.interners.user.size, items: b.interners.item.size });

    t0 = performance.now();
    cpu0 = process.cpuUsage();
    const { events } = await loadEvents([file]);
    emit('group', (performance.now() - t0) / 1000, { users: events.vocab.user.length, items: events.vocab.item.length });

    if (process.argv.includes('--gz')) {
      const gz = join(dir, 'log.csv.gz');
      await pipeline(createReadStream(file), createGzip({ level: 1 }), createWriteStream(gz));
      t0 = performance.now();
      cpu0 = process.cpuUsage();
      await loadEvents([gz]);
      emit('gz', (performance.now() - t0) / 1000, { gzBytes: statSync(gz).size });
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const genTo = process.argv.indexOf('--generate-to');
if (genTo >= 0) generate(process.argv[genTo + 1], arg('rows', 5_000_000), arg('users', 20_000));
else await main();
