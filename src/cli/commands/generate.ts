import { parseFlags, helpText, numFlag, strFlag, type FlagSpec } from '../args.js';
import { flagError } from '../../util/errors.js';
import { generate, GENERATE_DEFAULTS } from '../../data/generate.js';
import { log } from '../../util/log.js';
import { withInterrupt } from '../interrupt.js';

const FLAGS: Record<string, FlagSpec> = {
  out: { type: 'string', help: 'log file to write (Tianchi mobile 2014 CSV)' },
  truth: { type: 'string', help: 'also write the ground truth of the target pre-window\'s clicks to this CSV' },
  seed: { type: 'string', default: String(GENERATE_DEFAULTS.seed), help: 'random seed (same seed, same files)' },
  users: { type: 'string', default: String(GENERATE_DEFAULTS.users), help: 'number of users' },
  confounding: { type: 'string', default: String(GENERATE_DEFAULTS.confounding), help: 'strength of the deal-waiting confounder (0 = none, 1 = default world, 2 = strong)' },
  items: { type: 'string', default: String(GENERATE_DEFAULTS.items), help: 'number of items' },
  days: { type: 'string', default: String(GENERATE_DEFAULTS.days), help: 'days of log, ending on the target promotion day 2014-12-12' },
};

export async function run(argv: string[]): Promise<number> {
  const { values, help } = parseFlags(argv, FLAGS);
  if (help) {
    process.stdout.write(helpText('generate', '--out FILE [--truth FILE] [--seed N] [--users N] [--items N] [--days N]', FLAGS) + '\n\n'
      + 'Also writes FILE.promos.json with the promotions; `cmdcm prepare --log FILE --promo auto` reads it.\n');
    return 0;
  }
  const out = strFlag(values, 'out');
  if (!out) throw flagError('out', 'required: the log file to write');
  const started = Date.now();
  const r = await withInterrupt('generate', (signal) => generate({
    signal,
    out,
    truth: strFlag(values, 'truth'),
    seed: numFlag(values, 'seed', { int: true, min: 0, max: 2 ** 32 - 1 }),
    users: numFlag(values, 'users', { int: true, min: 1 }),
    confounding: numFlag(values, 'confounding', { min: 0, max: 10 }),
    items: numFlag(values, 'items', { int: true, min: 1 }),
    days: numFlag(values, 'days', { int: true, min: 1 }),
  }));
  log().info({ ...r, ms: Date.now() - started }, 'generated synthetic log');
  const pb = r.perBehavior;
  process.stdout.write(`wrote ${r.out}: ${r.rows} rows (${pb.click} clicks, ${pb.collect} collects, ${pb.cart} carts, ${pb.buy} buys), `
    + `${r.users} users, ${r.items} items, ${r.firstDate} .. ${r.lastDate}\n`);
  if (r.truth) process.stdout.write(`wrote ${r.truth}: ground truth for ${r.truthRows} target pre-window clicks\n`);
  process.stdout.write(`promotions (also in ${r.sidecar}; use --promo auto):\n  ${r.promotions.map((p) => `--promo ${p.date}:${p.preDays}`).join(' ')}\n`);
  return 0;
}
