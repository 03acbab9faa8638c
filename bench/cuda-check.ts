import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { benchBatch, benchSchema } from './drivers/step.js';
import { optimKernels, useEngine } from '../src/engine/index.js';
import type { AdamHyper } from '../src/engine/optim.js';
import { cudaAddon } from '../src/engine/cuda/addon.js';
import { cudaDevice } from '../src/engine/cuda/backend.js';
import { createModel, defaultModelConfig } from '../src/model/index.js';

/**
 * The Node side of bench/device-check.sh (compiled to dist/bench/cuda-check.js):
 *   probe                      JSON: can the cuda engine use a GPU here, and which libraries it loaded
 *   curve [batch] [steps]      JSON: the default CM-DCM trained `steps` steps (Adam + lazy Adam) on
 *                              native and on cuda from the same start: both loss curves, their max
 *                              relative difference
 *   summary <dir>              assembles the JSON files the script wrote in <dir> into one object
 */
const [what, ...rest] = process.argv.slice(2);

function out(o: unknown): void {
  process.stdout.write(JSON.stringify(o) + '\n');
}

async function probe(): Promise<void> {
  const a = cudaAddon();
  if (!a) {
    // why not: the binary the loader would pick, and what loading it says (a glibc or libstdc++
    // older than the build's, a CPU without the target's features...)
    const req = createRequire(import.meta.url);
    const root = fileURLToPath(new URL('../../', import.meta.url));
    const found = (req(join(root, 'native', 'find-binary.cjs')) as { findBinary(r: string): { file?: string; why?: string } }).findBinary(root);
    let loadError: string | null = null;
    if (found.file) {
      try {
        req(found.file);
      } catch (e) {
        loadError = (e as Error).message;
      }
    }
    return out({ ok: false, why: 'the cmdcm addon is not loaded', binary: found, loadError });
  }
  const p = a.cudaProbe();
  let device: unknown = null, error: string | null = null;
  {
    // without a GPU this is the engine's one-line error (what the user of --engine cuda sees)
    try {
      await useEngine('cuda');
      device = cudaDevice()?.info() ?? null;
    } catch (e) {
      // the whole chain: an NVRTC failure keeps its compiler log in the cause
      error = [(e as Error).message, ((e as Error).cause as Error | undefined)?.message].filter(Boolean).join('\n');
    }
  }
  out({ ...p, device, error });
}

async function curve(batch: number, steps: number): Promise<void> {
  const schema = benchSchema(100_000, 50);
  const model = createModel(defaultModelConfig('cmdcm'), schema);
  const batches = [0, 1, 2, 3].map((k) => benchBatch(schema, batch, 100 + k));
  const curves: Record<string, number[]> = {};
  const ms: Record<string, number> = {};
  for (const engine of ['native', 'cuda'] as const) {
    const k = optimKernels(await useEngine(engine));
    const params = model.initParams(5);
    const table = new Float32Array(schema.tableRows * model.dim);
    let s = 12345;
    for (let i = 0; i < table.length; i++) {
      s = (s * 1103515245 + 12345) >>> 0;
      table[i] = ((s / 4294967296) - 0.5) * 0.02;
    }
    const m = new Float32Array(params.length), v = new Float32Array(params.length);
    const tm = new Float32Array(table.length), tv = new Float32Array(table.length);
    const losses: number[] = [];
    const t0 = performance.now();
    for (let step = 1; step <= steps; step++) {
      const g = model.grad(params, table, batches[step % batches.length]);
      losses.push(g.loss);
      const h: AdamHyper = { lr: 0.001, beta1: 0.9, beta2: 0.999, eps: 1e-8, step };
      k.adamDense(params, g.denseGrad, m, v, h);
      k.lazyAdamRows(table, tm, tv, model.dim, g.rows, g.rowGrad, h);
    }
    ms[engine] = (performance.now() - t0) / steps;
    curves[engine] = losses;
  }
  let maxRel = 0;
  curves.native.forEach((l, i) => { maxRel = Math.max(maxRel, Math.abs(curves.cuda[i] - l) / Math.abs(l)); });
  out({
    batch, steps, native: curves.native, cuda: curves.cuda, max_rel_diff: maxRel, within_1e_3: maxRel <= 1e-3,
    falls: curves.cuda[steps - 1] < curves.cuda[0], ms_per_step: ms, device: cudaDevice()?.info().kind ?? null,
  });
}

function summary(dir: string): void {
  const read = (f: string): unknown => {
    try {
      const text = readFileSync(join(dir, f), 'utf8').trim();
      if (!text) return null;
      const lines = text.split('\n').filter((l) => l.startsWith('{'));
      const parsed = lines.map((l) => { try { return JSON.parse(l); } catch { return l; } });
      return parsed.length === 1 ? parsed[0] : parsed;
    } catch {
      return null;
    }
  };
  const tap = (f: string) => {
    try {
      const t = readFileSync(join(dir, f), 'utf8');
      const num = (k: string) => Number(new RegExp(`^# ${k} (\\d+)`, 'm').exec(t)?.[1] ?? NaN);
      return { pass: num('pass'), fail: num('fail'), skipped: num('skipped'), failures: [...t.matchAll(/^not ok \d+ - (.*)$/gm)].map((m) => m[1]) };
    } catch {
      return null;
    }
  };
  const files = readdirSync(dir);
  const s: Record<string, unknown> = { probe: read('probe.json'), tests: {} as Record<string, unknown>, curve: read('curve.json'), bench: {} as Record<string, unknown> };
  for (const f of files.filter((x) => x.endsWith('.tap'))) (s.tests as Record<string, unknown>)[f.replace(/\.tap$/, '')] = tap(f);
  for (const f of files.filter((x) => x.startsWith('bench-') && x.endsWith('.jsonl'))) (s.bench as Record<string, unknown>)[f.slice(6, -6)] = read(f);
  s.torch = Object.fromEntries(files.filter((x) => x.startsWith('torch-')).map((f) => [f.slice(6, -6), read(f)]));
  const sps = (k: string) => {
    const lines = (s.bench as Record<string, unknown>)[k];
    const arr = Array.isArray(lines) ? lines : [lines];
    return (arr.find((l) => l && typeof l === 'object' && (l as { bench?: string }).bench === 'step') as { samples_per_s?: number } | undefined)?.samples_per_s;
  };
  const torch16 = (s.torch as Record<string, { samples_per_s?: number } | null>)['16384']?.samples_per_s;
  s.ratios = {
    cuda_over_native_16384: sps('cuda-16384') && sps('native-16384') ? +(sps('cuda-16384')! / sps('native-16384')!).toFixed(2) : null,
    cuda_over_torch_16384: sps('cuda-16384') && torch16 ? +(sps('cuda-16384')! / torch16).toFixed(3) : null,
  };
  writeFileSync(join(dir, 'device-check.json'), JSON.stringify(s, null, 2) + '\n');
  out(s.ratios);
}

if (what === 'probe') await probe();
else if (what === 'curve') await curve(Number(rest[0] ?? 1024), Number(rest[1] ?? 50));
else if (what === 'summary') summary(rest[0]);
else {
  process.stderr.write('usage: cuda-check.js probe | curve [batch] [steps] | summary <dir>\n');
  process.exit(2);
}
