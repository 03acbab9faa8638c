import { join, resolve } from 'node:path';
import { didYouMean } from '../../util/suggest.js';
import { mkdirSync } from 'node:fs';
import { parseFlags, helpText, numFlag, strFlag, type FlagSpec } from '../args.js';
import { flagError } from '../../util/errors.js';
import { Progress } from '../../util/progress.js';
import { generate, GENERATE_DEFAULTS } from '../../data/generate.js';
import { prepare } from '../../data/prepare.js';
import { compareModels, compareMarkdown } from '../../workflows/compare.js';
import { MODEL_NAMES, type ModelName } from '../../model/types.js';
import { writeFileAtomic } from '../../util/atomic.js';
import { engineFlag } from '../flags/train.js';

/**
 * The README's main job: generate → prepare → train CM-DCM and baselines → one comparison table.
 * Everything lands in --dir (default ./demo-out) so the user can rerun any step by hand; the
 * commands printed along the way are the equivalent CLI calls.
 */
const DEMO_USERS = 1500, DEMO_ITEMS = 1000;
const DEFAULT_MODELS: ModelName[] = ['cmdcm', 'cmdcm-nocf', 'esmm', 'escm2-ipw', 'dnn'];

const FLAGS = {
  dir: { type: 'string', default: 'demo-out', help: 'working directory for the log, dataset, runs and table' },
  models: { type: 'string', default: DEFAULT_MODELS.join(','), help: `models to compare (of ${MODEL_NAMES.join(', ')})` },
  seed: { type: 'string', default: String(GENERATE_DEFAULTS.seed), help: 'seed for the generator and the trainer' },
  users: { type: 'string', default: String(DEMO_USERS), help: 'synthetic users (half the generator default, so the demo takes minutes)' },
  items: { type: 'string', default: String(DEMO_ITEMS), help: 'synthetic items' },
  epochs: { type: 'string', default: '1', help: 'training epochs per model' },
  engine: { type: 'string', default: 'auto', help: 'native | cpu | tensorflow | cuda | auto' },
  workers: { type: 'string', default: '1', help: 'worker threads per training run' },
} satisfies Record<string, FlagSpec>;

export async function run(argv: string[]): Promise<number> {
  const { values, help } = parseFlags(argv, FLAGS);
  if (help) {
    process.stdout.write(helpText('demo', '[--dir DIR] [--models a,b,...]', FLAGS) + '\n');
    return 0;
  }
  const dir = resolve(strFlag(values, 'dir') ?? 'demo-out');
  const models = (strFlag(values, 'models') ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  for (const m of models) if (!(MODEL_NAMES as readonly string[]).includes(m)) throw flagError('models', `unknown model '${m}'${didYouMean(m, MODEL_NAMES)} (expected some of ${MODEL_NAMES.join(', ')})`);
  const seed = numFlag(values, 'seed', { int: true, min: 0 }) ?? GENERATE_DEFAULTS.seed;
  const epochs = numFlag(values, 'epochs', { int: true, min: 1 }) ?? 1;
  const workers = numFlag(values, 'workers', { int: true, min: 1 }) ?? 1;
  mkdirSync(dir, { recursive: true });
  const say = (s: string) => process.stderr.write(`cmdcm demo: ${s}\n`);
  const t0 = Date.now();

  const logFile = join(dir, 'log.csv'), truthFile = join(dir, 'truth.csv'), dataDir = join(dir, 'dataset');
  say(`1/3 generate  (cmdcm generate --out ${logFile} --truth ${truthFile} --seed ${seed})`);
  const g = await generate({ out: logFile, truth: truthFile, seed, users: numFlag(values, 'users', { int: true, min: 10 }) ?? DEMO_USERS, items: numFlag(values, 'items', { int: true, min: 10 }) ?? DEMO_ITEMS });
  say(`    ${g.rows} rows, ${g.users} users, ${g.items} items, ${g.firstDate} .. ${g.lastDate}; promotions ${g.promotions.map((p) => `${p.date}:${p.preDays}`).join(' ')} (target ${g.target})`);

  say(`2/3 prepare   (cmdcm prepare --log ${logFile} --promo auto --out ${dataDir})`);
  const p = await prepare({ logs: [logFile], promos: 'auto', out: dataDir });
  const c = p.meta.counts;
  say(`    ${c.samples} samples (train ${c.perSplit.train}, valid ${c.perSplit.valid}, test ${c.perSplit.test}) in ${(p.timings.total / 1000).toFixed(1)} s`);

  say(`3/3 compare   (cmdcm compare --data ${dataDir} --models ${models.join(',')} --truth ${truthFile} --epochs ${epochs})`);
  let bar: Progress | undefined;
  let base = 0;
  let current = '';
  const rows = await compareModels({
    data: dataDir,
    models: models as ModelName[],
    truth: truthFile,
    out: join(dir, 'runs'),
    train: { epochs, seed },
    engine: engineFlag(values),
    workers,
    onModelStart: (m, k, n) => {
      bar?.done();
      bar = undefined;
      current = `${m} (${k + 1}/${n})`;
      say(`    training ${current}`);
    },
    on: {
      step: (e) => {
        if (!bar) {
          base = e.step - 1;
          bar = new Progress(`    ${current}`, e.totalSteps - base, 'steps');
        }
        bar.tick(e.step - base, `· ${Math.round(e.samplesPerSec)} samples/s · loss ${e.loss.toFixed(4)}`);
      },
    },
  });
  bar?.done();
  const table = compareMarkdown(rows);
  await writeFileAtomic(join(dir, 'compare.md'), table);
  process.stdout.write('\n' + table);
  say(`done in ${((Date.now() - t0) / 1000).toFixed(0)} s; table in ${join(dir, 'compare.md')}, runs in ${join(dir, 'runs')}`);
  return 0;
}
