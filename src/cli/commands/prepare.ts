import { parseFlags, helpText, numFlag, strFlag, type FlagSpec } from '../args.js';
import { flagError } from '../../util/errors.js';
import { READ_FLAGS, readOptionsFromFlags } from '../flags/read.js';
import { prepare, DEFAULT_MEMORY_BUDGET_MB } from '../../data/prepare.js';
import { withInterrupt } from '../interrupt.js';

const FLAGS: Record<string, FlagSpec> = {
  log: { type: 'string', multiple: true, help: 'behavior log file (.csv or .csv.gz); repeat for several files' },
  ...READ_FLAGS,
  promo: { type: 'string', multiple: true, help: "promotion DATE:DAYS (day and pre-window length), e.g. 2014-12-12:10; repeat for several; 'auto' reads LOG.promos.json from `cmdcm generate`" },
  target: { type: 'string', help: 'the target promotion: its date or 0-based index among --promo (default: the last)' },
  'test-days': { type: 'string', help: 'serving time asOf = the target day minus N days, 00:00 (default 3): the target\'s clicks before it train (labels as logged before it), the rest are the test split' },
  'as-of': { type: 'string', help: "serving time as 'YYYY-MM-DD[ HH:MM]' (local time of the log) instead of --test-days" },
  out: { type: 'string', help: 'dataset directory to write (replaced atomically)' },
  'seq-len': { type: 'string', default: '50', help: 'behavior sequence length L' },
  'valid-days': { type: 'string', default: '2', help: 'last days of the latest historical pre-window held out for validation' },
  'shard-size': { type: 'string', default: '65536', help: 'samples per shard file (at least)' },
  'max-buckets': { type: 'string', help: 'upper bound on any field\'s hash buckets (default 1048576)' },
  'memory-budget': { type: 'string', default: String(DEFAULT_MEMORY_BUDGET_MB), help: 'MB the event buffers may take; a log that outgrows it is prepared out of core (run files in the temp dir, one range of users at a time)' },
  'out-of-core': { type: 'string', default: 'auto', help: 'auto (only past --memory-budget), always or never; the dataset is the same either way' },
};

export async function run(argv: string[]): Promise<number> {
  const { values, help } = parseFlags(argv, FLAGS);
  if (help) {
    process.stdout.write(helpText('prepare', '--log FILE... --promo DATE:DAYS... --out DIR [flags]', FLAGS) + '\n');
    return 0;
  }
  const logs = (values.log as string[] | undefined) ?? [];
  if (logs.length === 0) throw flagError('log', 'required: at least one log file');
  const promoVals = (values.promo as string[] | undefined) ?? [];
  if (promoVals.length === 0) throw flagError('promo', "required: e.g. --promo 2014-11-11:10 --promo 2014-12-12:10 (or --promo auto for a generated log)");
  if (promoVals.includes('auto') && promoVals.length > 1) throw flagError('promo', "'auto' cannot be combined with explicit promotions");
  const out = strFlag(values, 'out');
  if (!out) throw flagError('out', 'required: the dataset directory to write');
  if (values['test-days'] !== undefined && values['as-of'] !== undefined) throw flagError('as-of', 'give either --as-of or --test-days, not both');
  const r = await withInterrupt('prepare', (signal) => prepare({
    signal,
    logs,
    read: readOptionsFromFlags(values),
    promos: promoVals[0] === 'auto' ? 'auto' : promoVals,
    target: strFlag(values, 'target'),
    testDays: numFlag(values, 'test-days', { int: true, min: 1 }),
    asOf: strFlag(values, 'as-of'),
    out,
    seqLen: numFlag(values, 'seq-len', { int: true, min: 1, max: 1000 }),
    validDays: numFlag(values, 'valid-days', { int: true, min: 0 }),
    shardSize: numFlag(values, 'shard-size', { int: true, min: 1 }),
    maxBuckets: numFlag(values, 'max-buckets', { int: true, min: 16 }),
    memoryBudgetMB: numFlag(values, 'memory-budget', { min: 16 }),
    outOfCore: outOfCoreFlag(strFlag(values, 'out-of-core')),
  }));
  const m = r.meta;
  const ps = m.counts.perSplit;
  process.stdout.write(`wrote ${r.dir}: ${m.counts.samples} samples from ${m.counts.events} events (${m.counts.users} users, ${m.counts.items} items), `
    + `train ${ps.train} / valid ${ps.valid} / test ${ps.test}, ${m.shards.length} shards, ${(r.timings.total / 1000).toFixed(1)} s\n`);
  const hz = m.labelHorizons;
  process.stdout.write(`  as of ${m.asOfText}: the target's ${ps.test} clicks from then on are the test split; its earlier clicks train on what was logged before it `
    + `(atc labels of clicks younger than ${hz.atc} h and direct labels younger than ${hz.direct} h masked)\n`);
  if (r.outOfCore) process.stdout.write(`  out of core: ${r.outOfCore.runs} run files, ${r.outOfCore.ranges} user ranges of <= ${r.outOfCore.rangeEvents} events\n`);
  for (const p of m.perPromotion ?? []) {
    const tgt = p.date === m.promotions[m.target].date;
    process.stdout.write(`  ${p.date}:${p.preDays}${tgt ? ' (target)' : ''}: ${p.samples} samples, direct ${p.positives.direct}, atc ${p.positives.atc}, delayed ${tgt && !m.targetOutcomeKnown ? 'unknown' : p.positives.delayed}\n`);
  }
  const bad = Object.values(m.badRows).reduce((s, n) => s + n, 0);
  if (bad > 0) process.stdout.write(`  ${bad} bad rows skipped: ${Object.entries(m.badRows).filter(([, n]) => n > 0).map(([k, n]) => `${k} ${n}`).join(', ')} (details in meta.json)\n`);
  return 0;
}

function outOfCoreFlag(v: string | undefined): 'auto' | 'always' | 'never' | undefined {
  if (v === undefined || v === 'auto' || v === 'always' || v === 'never') return v;
  throw flagError('out-of-core', `must be auto, always or never, got '${v}'`);
}
