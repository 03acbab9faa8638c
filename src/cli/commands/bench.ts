import { helpText, numFlag, parseFlags, strFlag, type FlagSpec } from '../args.js';
import { CmdcmError, flagError } from '../../util/errors.js';

const FLAGS = {
  engine: { type: 'string', default: 'both', help: 'native, cpu, cuda or both (native and cpu)' },
  gemm: { type: 'string', help: "native GEMM: 'openblas' (when built with it) or 'in-tree'" },
  ms: { type: 'string', default: '300', help: 'kernels: time budget per shape (ms)' },
  steps: { type: 'string', default: '10', help: 'step: timed steps on native' },
  'cpu-steps': { type: 'string', default: '1', help: 'step: timed steps on cpu (pure JS is slow)' },
  warmup: { type: 'string', default: '2', help: 'step: untimed steps first (cpu: 1)' },
  batch: { type: 'string', default: '1024', help: 'step: batch size' },
  rows: { type: 'string', default: '1000000', help: 'step: embedding table rows' },
  seq: { type: 'string', default: '50', help: 'step: behavior sequence length' },
  profile: { type: 'boolean', help: 'step: per-kernel time breakdown (native; cuda: each kernel between two device syncs)' },
} satisfies Record<string, FlagSpec>;

const SYNOPSIS = 'kernels|step [flags]   (prints JSON lines)';

/**
 * The benchmark drivers (bench/drivers/*.ts, compiled to dist/bench/drivers/): they sit outside
 * src/ because they drive the whole stack (model, optimizer) and are no part of the library.
 */
async function driver<T>(name: 'kernels' | 'step'): Promise<T> {
  const url = new URL(`../../../bench/drivers/${name}.js`, import.meta.url);
  try {
    return (await import(url.href)) as T;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== 'ERR_MODULE_NOT_FOUND') throw e;
    throw new CmdcmError(`bench: the benchmark drivers are not in this installation (looked for ${url.pathname}); run \`cmdcm bench\` from a cmdcm source checkout after \`npm run build\``);
  }
}

/** `cmdcm bench kernels` / `cmdcm bench step`: JSON lines on stdout (see bench/drivers/*.ts). */
export async function run(argv: string[]): Promise<number> {
  const { values, positionals, help } = parseFlags(argv, FLAGS, { positionals: true });
  if (help) {
    process.stdout.write(helpText('bench', SYNOPSIS, FLAGS) + '\n');
    return 0;
  }
  const what = positionals[0];
  if (what !== 'kernels' && what !== 'step' || positionals.length > 1) {
    throw new CmdcmError(`bench: expected 'kernels' or 'step', got ${positionals.length ? `'${positionals.join(' ')}'` : 'nothing'}\n${helpText('bench', SYNOPSIS, FLAGS)}`, { exitCode: 2 });
  }
  const eng = strFlag(values, 'engine') ?? 'both';
  if (!['native', 'cpu', 'cuda', 'both'].includes(eng)) throw flagError('engine', `expected native, cpu, cuda or both, got '${eng}'`);
  const engines = (eng === 'both' ? ['native', 'cpu'] : [eng]) as ('native' | 'cpu' | 'cuda')[];
  const gemm = strFlag(values, 'gemm');
  if (gemm !== undefined && gemm !== 'openblas' && gemm !== 'in-tree') throw flagError('gemm', `expected openblas or in-tree, got '${gemm}'`);
  const { gemmInfo } = await import('../../engine/index.js');
  const { engineAddon } = await import('../../engine/native/addon.js');
  if (gemm) {
    const a = engineAddon();
    if (!a) throw flagError('gemm', 'the native addon is not available');
    const got = a.setGemm(gemm);
    if (gemm === 'openblas' && got !== 'openblas') throw flagError('gemm', 'this build of the addon has no OpenBLAS (install libopenblas-dev and rebuild)');
  }
  const out = (o: object) => process.stdout.write(JSON.stringify(o) + '\n');
  const info = gemmInfo();
  out({ bench: 'info', gemm: info?.gemm ?? null, simd: info?.simd ?? null, blasBuilt: info?.blasBuilt ?? false, threads: 1, node: process.version });
  if (what === 'kernels') {
    // a GPU runs asynchronously: its kernels are timed inside whole steps (`bench step`), which read results back
    if (engines.includes('cuda')) throw flagError('engine', "bench kernels times native and cpu; measure the cuda engine with 'cmdcm bench step --engine cuda'");
    const { runKernelBench } = await driver<typeof import('../../../bench/drivers/kernels.js')>('kernels');
    await runKernelBench({ engines: engines as ('native' | 'cpu')[], ms: numFlag(values, 'ms', { min: 1 }) ?? 300 }, out);
    return 0;
  }
  const { runStepBench } = await driver<typeof import('../../../bench/drivers/step.js')>('step');
  const common = {
    batch: numFlag(values, 'batch', { int: true, min: 1 }) ?? 1024,
    rows: numFlag(values, 'rows', { int: true, min: 1000 }) ?? 1_000_000,
    seqLen: numFlag(values, 'seq', { int: true, min: 0 }) ?? 50,
    seed: 1,
  };
  const results: Record<string, number> = {};
  for (const engine of engines) {
    const r = await runStepBench({
      ...common, engine,
      steps: engine === 'cpu' ? numFlag(values, 'cpu-steps', { int: true, min: 1 }) ?? 1 : numFlag(values, 'steps', { int: true, min: 1 }) ?? 10,
      warmup: engine === 'cpu' ? Math.min(1, numFlag(values, 'warmup', { int: true, min: 0 }) ?? 2) : numFlag(values, 'warmup', { int: true, min: 0 }) ?? 2,
      profile: Boolean(values.profile) && engine !== 'cpu',
    });
    const { profile, ...line } = r;
    out(line);
    if (engine === 'cuda') {
      const { cudaDevice } = await import('../../engine/cuda/backend.js');
      const d = cudaDevice()?.info();
      if (d) out({ bench: 'device', engine, kind: d.kind, name: d.name, sm: `${d.major}.${d.minor}`, totalMem: d.totalMem, liveBytes: d.liveBytes, cachedBytes: d.cachedBytes });
    }
    if (profile) for (const p of profile) out({ bench: 'profile', engine, ...p });
    results[engine] = r.samples_per_s;
  }
  if (results.native && results.cpu) out({ bench: 'ratio', native_over_cpu: +(results.native / results.cpu).toFixed(1) });
  return 0;
}
