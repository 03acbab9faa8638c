import { allocColumns, type SampleColumns, type Schema } from '../../src/data/batch.js';
import { Rng } from '../../src/util/rng.js';
import { DEFAULT_TRAIN_CONFIG, type TrainConfig } from '../../src/train/config.js';

process.env.CMDCM_LOG_LEVEL ??= 'silent';

/** Where workers load the testing model from (dist/test/parallel/testing-model.js). */
export const TESTING_MODEL = new URL('./testing-model.js', import.meta.url).href;

/** A small schema: three target fields in one table, two dense features. */
export function smallSchema(rowsPerField = 40): Schema {
  const fields = ['user', 'item', 'category'];
  const hash = [...fields, 'behavior', 'gap'].map((name, i) => ({ name, offset: 1 + i * rowsPerField, size: rowsPerField }));
  return { fields, seqLen: 2, seqTokens: ['item', 'category', 'behavior', 'gap'], dense: ['a', 'b'], hash, tableRows: 1 + 5 * rowsPerField };
}

/** n random samples: field rows drawn from each field's range (some rows repeat across samples). */
export function randomSamples(schema: Schema, n: number, seed: number): SampleColumns {
  const r = new Rng(seed);
  const c = allocColumns(schema, n);
  const F = schema.fields.length;
  for (let i = 0; i < n; i++) {
    for (let f = 0; f < F; f++) {
      const h = schema.hash[f];
      c.fields[i * F + f] = h.offset + r.int(h.size);
    }
    for (let s = 0; s < schema.dense.length; s++) c.dense[i * schema.dense.length + s] = r.normal();
    for (let t = 0; t < 3; t++) {
      c.labels[i * 3 + t] = r.next() < 0.3 ? 1 : 0;
      c.mask[i * 3 + t] = t === 2 && r.next() < 0.2 ? 0 : 1;
    }
    c.user[i] = c.fields[i * F] - schema.hash[0].offset;
    c.item[i] = i;
  }
  return c;
}

export function trainConfig(over: Partial<TrainConfig> = {}): TrainConfig {
  return { ...DEFAULT_TRAIN_CONFIG, seed: 7, tableInitStd: 0.1, ...over, schedule: { ...DEFAULT_TRAIN_CONFIG.schedule, kind: 'constant', lr: 0.01, warmupSteps: 0 } };
}

/** Largest |a - b| relative to the largest |b| (0 when both are empty). */
export function maxRelDiff(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let d = 0, m = 0;
  for (let i = 0; i < a.length; i++) {
    d = Math.max(d, Math.abs(a[i] - b[i]));
    m = Math.max(m, Math.abs(b[i]));
  }
  return m === 0 ? d : d / m;
}

/** /dev/shm entries this process's segments would have (cmdcm-<pid>-…). */
export async function ourShmEntries(): Promise<string[]> {
  const { readdirSync, existsSync } = await import('node:fs');
  if (!existsSync('/dev/shm')) return [];
  return readdirSync('/dev/shm').filter((n) => n.startsWith(`cmdcm-${process.pid}-`));
}

/** Skip reason for process-transport tests when the addon (shared memory) is not loadable. */
export async function shmSkip(): Promise<string | false> {
  const { loadAddon } = await import('../../src/native.js');
  const a = loadAddon() as Record<string, unknown> | undefined;
  return a && typeof a.shmCreate === 'function' ? false : 'native addon with shared memory not built (npx node-gyp rebuild)';
}
