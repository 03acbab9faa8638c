/**
 * A whole cmdcm pipeline through the library API: generate a synthetic pre-promotion log, prepare
 * it, train a small CM-DCM, evaluate it, and serve predictions from a loaded Predictor.
 *
 *   npx tsc -p . && node dist/examples/pipeline.js [WORKDIR]
 *
 * (Inside an application, import from 'cmdcm' instead of '../src/index.js'.)
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generate, prepare, train, evaluate, predict, Predictor, openDataset, gatherColumns } from '../src/index.js';

async function main(): Promise<void> {
  const work = process.argv[2] ?? mkdtempSync(join(tmpdir(), 'cmdcm-example-'));
  const log = join(work, 'log.csv');
  await generate({ out: log, truth: join(work, 'truth.csv'), users: 300, items: 200, seed: 7 });
  // the generator writes log.csv.promos.json beside the log; 'auto' reads it
  const { dir } = await prepare({ logs: [log], promos: 'auto', out: join(work, 'dataset'), seqLen: 10, progress: false });

  const run = join(work, 'run');
  const { summary } = await train({
    data: dir,
    model: 'cmdcm',
    out: run,
    modelConfig: { dim: 8, towerUnits: [32, 16], gateUnits: 16, attentionUnits: [16] },
    train: { epochs: 1, batchSize: 256 },
    on: {
      valid: (e) => console.log(`step ${e.step}: validation logloss ${e.metric.toFixed(4)}${e.improved ? ' (best)' : ''}`),
    },
  });
  console.log(`trained ${summary.steps} steps at ${Math.round(summary.samplesPerSec)} samples/s`);

  const { markdown } = await evaluate({ run });
  console.log(markdown);

  const preds = await predict({ run, out: join(work, 'preds.csv') });
  console.log(`wrote ${preds.n} predictions to ${join(work, 'preds.csv')}; first: ${preds.user[0]},${preds.item[0]},${preds.time[0]} p_delayed=${preds.preds.delayed[0].toFixed(4)}`);

  // a server loop: load once, score request-sized batches
  const predictor = await Predictor.load(run);
  const test = await (await openDataset(dir)).load('test');
  for (let start = 0; start < Math.min(test.n, 300); start += 100) {
    const idx = Array.from({ length: Math.min(100, test.n - start) }, (_, k) => start + k);
    const p = predictor.predict(gatherColumns(predictor.schema, test, idx));
    const mean = p.delayed.reduce((a, b) => a + b, 0) / p.delayed.length;
    console.log(`batch at ${start}: ${idx.length} clicks, mean p_delayed ${mean.toFixed(4)}`);
  }
  console.log(`everything is in ${work}`);
}

main().catch((e) => {
  console.error(e instanceof Error ? e.message : e);
  process.exitCode = 1;
});
