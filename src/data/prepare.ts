import type { Logger } from 'pino';
import { promises as fsp } from 'node:fs';
import { join, dirname, basename } from 'node:path';
import { CmdcmError, flagError } from '../util/errors.js';
import { buildDirAtomic } from '../util/atomic.js';
import { log } from '../util/log.js';
import { Progress } from '../util/progress.js';
import { BEHAVIORS, SECONDS_PER_DAY, type GroupedEvents, type LogFormat, type Promotion } from './types.js';
import type { ReadOptions } from './readers/options.js';
import type { ReadReport } from './readers/read.js';
import { loadEvents, ingestEvents, type EventSource, type LoadProgress } from './events.js';
import { loadOrSpill, spilledParts, tuningFor, lastDayOf, type SpilledEvents, type SpillTuning } from './spill.js';
import { buildCalendar, checkCalendarRange, sidecarPathFor, dateOfDay, type Calendar, type PromoSidecar } from './calendar.js';
import { resolveAsOf, formatAsOf, labelHorizons } from './asof.js';
import { SeenBefore } from './seen.js';
import { buildShards, buildShardsFrom, mergeStats, runWorker, splitUsers, type ShardsPart } from './shard-writer.js';
import { planSamples, inRankOrder, type SampleOptions } from './sample-plan.js';
import { resolutionSeconds } from './types.js';
import { DATASET_FORMAT_VERSION, validPromo, type DatasetMeta } from './dataset.js';
import { prepareGuarded } from './prepare-guard.js';

/**
 * `prepare`: behavior logs -> a dataset directory (see dataset.ts for the layout).
 *
 * Atomic: everything is written into a temp directory beside `out` and renamed into place at the
 * end (meta.json last), so an interrupted or failed prepare never leaves a directory that looks
 * like a complete dataset, and an existing dataset at `out` survives a failed run.
 */
export interface PrepareOptions extends SampleOptions {
  /** log files (any supported format, .gz too); or give `events`/`grouped` instead */
  logs?: string[];
  /** reader options (format, year, columns, behaviors, max bad rows) for `logs` */
  read?: ReadOptions;
  /** events as objects (library input); their clock is described by `eventsFormat`/`eventsResolution` */
  events?: EventSource;
  eventsFormat?: LogFormat;
  eventsResolution?: GroupedEvents['resolution'];
  /** already grouped events */
  grouped?: GroupedEvents;
  /** `DATE:DAYS` strings or promotions; 'auto' reads the `<log>.promos.json` sidecar of the first log (written by `cmdcm generate`) */
  promos: readonly (string | Promotion)[] | 'auto';
  /** the target promotion: a date or a 0-based index into `promos` (default: the last) */
  target?: string | number;
  /** the as-of serving time: `testDays` before the target day (default 3), or `asOf` (asof.ts) */
  testDays?: number;
  asOf?: string;
  out: string;
  /** days at the end of the latest historical pre-window held out for validation (default 2) */
  validDays?: number;
  /** samples per shard, at least (default 65536) */
  shardSize?: number;
  /**
   * threads building samples (default 1). Users are split by event count; each extra thread gets
   * one copy of the event columns (not of the id strings). Measured on the 2-core machine with a
   * 5M-row log, a second thread cost ~1.8 CPU-seconds (its start, the column copy, its own item
   * statistics) and 140 MB for no wall-clock gain, so it is opt-in.
   */
  threads?: number;
  /** show a progress line on a TTY (default true) */
  progress?: boolean;
  /** progress for a host application: events read, then events built into samples (of `total`) */
  onProgress?: (p: { stage: 'read' | 'build'; done: number; total?: number }) => void;
  /** stops the prepare (a CmdcmError) at its next progress point; the temp directory is removed, an existing dataset kept */
  signal?: AbortSignal;
  /** where prepare's log lines go (pino-compatible); default the process-wide stderr logger (warnings only) */
  logger?: Pick<Logger, 'info' | 'warn'>;
  /** test hook: runs inside the temp dir after the shards are written, before meta.json */
  beforeCommit?: (tmpDir: string) => Promise<void> | void;
  /**
   * Memory in MB the event buffers may take (default 512). A log whose events outgrow it is
   * prepared out of core: read once into run files in the temp dir, then built one range of users
   * at a time, so peak memory follows the number of users and items, not the log's length. The
   * dataset is byte-identical either way (meta.json's createdAt aside).
   */
  memoryBudgetMB?: number;
  /** 'auto' (default): out of core only for a log that outgrows the budget; 'always'; 'never' */
  outOfCore?: 'auto' | 'always' | 'never';
  /** test hook: run and range sizes in events, overriding the budget's */
  spillTuning?: Partial<SpillTuning>;
  /** test hook: runs after each out-of-core user range has been built */
  afterSpillRange?: (info: { range: number; spillDir: string }) => Promise<void> | void;
}

/** Default `memoryBudgetMB`: logs up to ~12M events stay in memory (the 23M-row Tianchi 2014 log goes out of core). */
export const DEFAULT_MEMORY_BUDGET_MB = 512;

export interface PrepareResult {
  dir: string;
  meta: DatasetMeta;
  /** wall-clock ms per phase */
  timings: { load: number; build: number; total: number };
  /** set when the log was prepared out of core: run files written and user ranges built */
  outOfCore?: { runs: number; ranges: number; runEvents: number; rangeEvents: number };
}

export async function prepare(opts: PrepareOptions): Promise<PrepareResult> {
  if (!opts.out) throw flagError('out', 'required: the dataset directory to write');
  return prepareGuarded(opts, prepareLocked);
}

async function prepareLocked(opts: PrepareOptions): Promise<PrepareResult> {
  const logger = opts.logger ?? log();
  const t0 = Date.now();
  await sweepDeadTemps(opts.out);
  const seqLen = opts.seqLen ?? 50;
  const validDays = opts.validDays ?? 2;
  const shardSize = opts.shardSize ?? 65536;
  if (!Number.isInteger(validDays) || validDays < 0) throw flagError('valid-days', `must be an integer >= 0, got ${validDays}`);
  if (!Number.isInteger(shardSize) || shardSize < 1) throw flagError('shard-size', `must be a positive integer, got ${shardSize}`);
  if (!Number.isInteger(seqLen) || seqLen < 1 || seqLen > 1000) throw flagError('seq-len', `must be an integer in [1, 1000], got ${seqLen}`);

  // promotions are parsed before reading, so a typo fails in milliseconds rather than after the log
  const promoSpec = opts.promos === 'auto' ? await readSidecar(opts.logs) : { promos: opts.promos, target: opts.target };
  const cal0 = buildCalendar(promoSpec.promos, opts.promos === 'auto' ? opts.target ?? promoSpec.target : opts.target);
  // checked now, so that a bad --as-of fails before the log is read; rounded to the log's clock below
  const asOfSpec = { testDays: opts.testDays, asOf: opts.asOf };
  const asOfRaw = resolveAsOf(cal0.promotions[cal0.target], asOfSpec, 1);

  const mode = opts.outOfCore ?? 'auto';
  if (mode !== 'auto' && mode !== 'always' && mode !== 'never') throw flagError('out-of-core', `must be auto, always or never, got ${String(mode)}`);
  const budgetMB = opts.memoryBudgetMB ?? DEFAULT_MEMORY_BUDGET_MB;
  if (!(budgetMB >= 16)) throw flagError('memory-budget', `must be a number of MB >= 16, got ${budgetMB}`);
  const threads = opts.threads ?? 1;
  if (!Number.isInteger(threads) || threads < 1) throw new CmdcmError(`threads must be a positive integer, got ${threads}`);
  const tuning: SpillTuning = { ...tuningFor(budgetMB), ...opts.spillTuning };

  if (!opts.grouped && !opts.events && (!opts.logs || opts.logs.length === 0)) throw flagError('log', 'required: at least one log file');

  let tLoad = 0, tBuild = 0;
  let spillInfo: PrepareResult['outOfCore'];
  const meta = await buildDirAtomic(opts.out, async (tmp) => {
    // 1. events: in memory, or (a log that outgrows the budget) spilled to run files in the temp dir
    let g: GroupedEvents | undefined;
    let sp: SpilledEvents | undefined;
    let reports: ReadReport[] = [];
    const showProgress = opts.progress ?? true;
    // one progress channel per stage: the TTY bar, the host's callback, and the abort check
    const stage = (name: 'read' | 'build', label: string, total: number | undefined, unit: string) => {
      const bar = showProgress ? new Progress(label, total, unit) : undefined;
      return {
        tick: (done: number) => {
          if (opts.signal?.aborted) throw new CmdcmError(`prepare: aborted while ${name === 'read' ? 'reading the log' : 'building samples'}; ${opts.out} is unchanged`);
          bar?.tick(done);
          opts.onProgress?.({ stage: name, done, total });
        },
        done: () => bar?.done(),
      };
    };
    if (opts.signal?.aborted) throw new CmdcmError(`prepare: aborted before it started; ${opts.out} is unchanged`);
    if (opts.grouped) g = opts.grouped;
    else if (opts.events) g = await ingestEvents(opts.events, { format: opts.eventsFormat, resolution: opts.eventsResolution });
    else {
      if (!opts.logs || opts.logs.length === 0) throw flagError('log', 'required: at least one log file');
      const bar = stage('read', 'reading', undefined, 'rows');
      const tick = (p: LoadProgress) => bar.tick(p.events);
      if (mode === 'never') {
        const r = await loadEvents(opts.logs, opts.read ?? {}, tick);
        g = r.events;
        reports = r.reports;
      } else {
        const promoDays = cal0.promotions.filter((_, i) => i !== cal0.target).map((p) => p.day);
        const queryDays = cal0.promotions.flatMap((p) => Array.from({ length: p.preDays }, (_, d) => p.day - p.preDays + d));
        const r = await loadOrSpill(opts.logs, opts.read ?? {}, { mode, tuning, dir: join(tmp, 'spill'), queryDays, promoDays, asOf: asOfRaw, onProgress: tick });
        reports = r.reports;
        if (r.kind === 'memory') g = r.events;
        else sp = r.spilled;
      }
      bar.done();
      if (opts.signal?.aborted) throw new CmdcmError(`prepare: aborted after reading the log; ${opts.out} is unchanged`);
      for (const rep of reports) {
        logger.info({ file: rep.file, format: rep.describe, rows: rep.rows, badRows: rep.badRows, bad: rep.bad }, 'read log');
        for (const ex of rep.examples) logger.warn(ex);
      }
    }
    tLoad = Date.now();
    const nEvents = g ? g.n : sp!.n;
    if (nEvents === 0) throw new CmdcmError(`no events in ${opts.logs?.join(', ') ?? 'the input'}`);

    // 2. calendar against the log's dates
    let minT = Infinity, maxT = -Infinity;
    const bc = [0, 0, 0, 0];
    if (g) {
      const gt = g.time, gb = g.behavior, gn = g.n;
      for (let k = 0; k < gn; k++) {
        const t = gt[k];
        if (t < minT) minT = t;
        if (t > maxT) maxT = t;
        bc[gb[k]]++;
      }
    } else {
      minT = sp!.minT; maxT = sp!.maxT;
      sp!.perBehavior.forEach((c, i) => { bc[i] = c; });
    }
    const firstDay = Math.floor(minT / SECONDS_PER_DAY), lastDay = Math.floor(maxT / SECONDS_PER_DAY);
    const cal: Calendar = cal0;
    checkCalendarRange(cal, firstDay, lastDay);
    const vp = validPromo({ promotions: cal.promotions, target: cal.target });
    if (vp >= 0 && validDays >= cal.promotions[vp].preDays) {
      throw flagError('valid-days', `${validDays} days would hold out the whole ${cal.promotions[vp].preDays}-day pre-window of ${cal.promotions[vp].date}, leaving it nothing to train on`);
    }
    const perBehavior: Record<string, number> = Object.fromEntries(BEHAVIORS.map((b, i) => [b, bc[i]]));

    // 3. samples -> shards
    const vocab = g ? g.vocab : sp!.vocab;
    const resolution = g ? g.resolution : sp!.resolution;
    const format = g ? g.format : sp!.format;
    const asOf = resolveAsOf(cal.promotions[cal.target], asOfSpec, resolutionSeconds(resolution));
    // the tables are sized by the ids logged before asOf (events are resolution-aligned, so the raw
    // time and the rounded one select the same events)
    let seen: SeenBefore;
    if (g) {
      seen = new SeenBefore(asOf);
      seen.add(g);
    } else seen = sp!.seenBefore;
    const plan = planSamples(g ?? spilledHeader(sp!), cal, { seqLen, maxBuckets: opts.maxBuckets, hashSizes: opts.hashSizes, seen });
    await fsp.mkdir(join(tmp, 'shards'));
    await fsp.mkdir(join(tmp, 'vocab'));
    let parts: ShardsPart[];
    if (g) {
      const ranges = splitUsers(g, threads);
      const bar = stage('build', 'building samples', ranges[0][1] > 0 ? g.userStart[ranges[0][1]] : 0, 'events');
      const light: GroupedEvents = { ...g, vocab: { user: [], item: [], category: [] } };
      const jobs = ranges.slice(1).map((users, i) => runWorker({
        cmdcmPrepareWorker: true, g: light, cal, plan, tmp, tag: `w${i + 1}-`, shardSize, validDays, asOf, users,
      }));
      // this thread takes the first range while the workers run
      const mine = buildShards(g, cal, plan, tmp, '', shardSize, validDays, asOf, ranges[0], bar.tick);
      parts = await Promise.all([mine, ...jobs]);
      bar.done();
    } else {
      // one thread: the ranges come off the disk in order, and a worker per range would need its own copy of the plan and statistics
      if (threads > 1) logger.info({ threads }, 'out-of-core prepare builds samples on one thread');
      const s = sp!;
      const bar = stage('build', 'building samples', s.n, 'events');
      let range = 0;
      const ranges = async function* () {
        for await (const part of spilledParts(s, tuning.rangeEvents)) {
          yield part;
          await opts.afterSpillRange?.({ range, spillDir: s.dir });
          range++;
        }
      };
      logger.info({ runs: s.runs.length, events: s.n, rangeEvents: tuning.rangeEvents, budgetMB }, 'out-of-core prepare: log spilled to runs');
      parts = [await buildShardsFrom(ranges(), resolution, cal, plan, tmp, shardSize, validDays,
        { itemStats: s.itemStats, lastDay: lastDayOf(s), asOf }, bar.tick)];
      bar.done();
      spillInfo = { runs: s.runs.length, ranges: range, runEvents: tuning.runEvents, rangeEvents: tuning.rangeEvents };
      await fsp.rm(s.dir, { recursive: true, force: true });
    }
    const shards = parts.flatMap((p) => p.shards);
    const stats = mergeStats(parts.map((p) => p.stats));
    // in the order of the samples' user / item indices (plan.ids)
    await fsp.writeFile(join(tmp, 'vocab', 'users.txt'), inRankOrder(vocab.user, plan.ids.user).join('\n') + (vocab.user.length ? '\n' : ''));
    await fsp.writeFile(join(tmp, 'vocab', 'items.txt'), inRankOrder(vocab.item, plan.ids.item).join('\n') + (vocab.item.length ? '\n' : ''));
    if (opts.signal?.aborted) throw new CmdcmError(`prepare: aborted after building samples; ${opts.out} is unchanged`);
    await opts.beforeCommit?.(tmp);

    const target = cal.target;
    const histSamples = stats.perPromo.reduce((s, n, i) => (i === target ? s : s + n), 0);
    const valid = vp >= 0 ? stats.perPromoLate[vp] : 0;
    const badRows: Record<string, number> = {};
    for (const r of reports) for (const [k, v] of Object.entries(r.bad)) badRows[k] = (badRows[k] ?? 0) + v;
    const m: DatasetMeta = {
      cmdcm: 'dataset',
      formatVersion: DATASET_FORMAT_VERSION,
      createdAt: new Date().toISOString(),
      sources: reports.length
        ? reports.map((r) => ({ file: r.file, format: r.format, rows: r.rows, badRows: r.badRows }))
        : [{ file: opts.events ? '(events)' : '(grouped events)', format, rows: nEvents, badRows: 0 }],
      resolution,
      promotions: cal.promotions,
      target,
      targetOutcomeKnown: stats.targetOutcomeKnown,
      asOf,
      asOfText: formatAsOf(asOf),
      labelHorizons: labelHorizons(stats.delayHours),
      validDays,
      schema: plan.schema,
      counts: {
        events: nEvents, users: vocab.user.length, items: vocab.item.length, samples: stats.samples,
        perSplit: { train: histSamples - valid + stats.perPromo[target] - stats.targetTest, valid, test: stats.targetTest },
        perBehavior,
      },
      timeFormat: format,
      badRows,
      shards,
      dateRange: [dateOfDay(firstDay), dateOfDay(lastDay)],
      perPromotion: cal.promotions.map((p, i) => ({
        date: p.date, preDays: p.preDays, samples: stats.perPromo[i],
        positives: { direct: stats.positives[i][0], atc: stats.positives[i][1], delayed: stats.positives[i][2] },
      })),
      badExamples: reports.flatMap((r) => r.examples),
      usersWithSamples: stats.usersWithSamples,
    };
    await fsp.writeFile(join(tmp, 'meta.json'), JSON.stringify(m, null, 1) + '\n');
    tBuild = Date.now();
    return m;
  });
  const res: PrepareResult = { dir: opts.out, meta, timings: { load: tLoad - t0, build: tBuild - tLoad, total: Date.now() - t0 }, outOfCore: spillInfo };
  logger.info({ out: opts.out, samples: meta.counts.samples, perSplit: meta.counts.perSplit, timings: res.timings }, 'prepared dataset');
  return res;
}


/** What planSamples reads of a log (vocabularies, clock, which side fields) for a spilled one. */
function spilledHeader(s: SpilledEvents): GroupedEvents {
  const none = new Int32Array(0);
  const g: GroupedEvents = {
    n: 0, user: none, item: none, category: none, behavior: new Uint8Array(0), time: none, userStart: new Int32Array(1),
    vocab: s.vocab, resolution: s.resolution, format: s.format,
  };
  for (const f of s.sideFields) g[f] = none;
  return g;
}

/**
 * Remove temp dirs beside `out` left by a prepare that was killed (tempPathFor names them
 * `.<name>.tmp-<pid>-<hex>`); a live process's temp dir is left alone.
 */
async function sweepDeadTemps(out: string): Promise<void> {
  const parent = dirname(out), prefix = `.${basename(out)}.tmp-`;
  let entries: string[];
  try { entries = await fsp.readdir(parent); } catch { return; }
  for (const e of entries) {
    if (!e.startsWith(prefix)) continue;
    const pid = Number(e.slice(prefix.length).split('-')[0]);
    if (!Number.isInteger(pid) || pid === process.pid || isAlive(pid)) continue;
    await fsp.rm(join(parent, e), { recursive: true, force: true });
  }
}

function isAlive(pid: number): boolean {
  try { process.kill(pid, 0); return true; } catch (e) { return (e as NodeJS.ErrnoException).code === 'EPERM'; }
}

async function readSidecar(logs: string[] | undefined): Promise<{ promos: string[]; target: string }> {
  if (!logs || logs.length === 0) throw flagError('promo', "'auto' needs a --log whose FILE.promos.json sidecar (written by `cmdcm generate`) lists the promotions");
  const p = sidecarPathFor(logs[0]);
  let sc: PromoSidecar;
  try {
    sc = JSON.parse(await fsp.readFile(p, 'utf8')) as PromoSidecar;
  } catch (e) {
    const why = (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'not found' : (e as Error).message;
    throw flagError('promo', `'auto' reads ${p}: ${why}; give the promotions explicitly, e.g. --promo 2014-12-12:10`);
  }
  if (!Array.isArray(sc.promotions) || sc.promotions.length === 0) throw flagError('promo', `${p}: no promotions listed`);
  return { promos: sc.promotions.map((x) => `${x.date}:${x.preDays}`), target: sc.target };
}
