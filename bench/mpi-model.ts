/**
 * The paper model of `--transport mpi` beyond one host (issue 15, README "Beyond one host"): per-step
 * bytes and time for 2-64 hosts at 10, 25 and 100 Gbit/s, with the default CM-DCM model and with a
 * 1-billion-row table, from figures measured here:
 *  - P and D: the default model's dense parameter count and row width;
 *  - U(b): the unique table rows a micro-batch of b samples touches, counted on the synthetic data
 *    (bench/scaling's), with the default table and with ~10⁹ rows (ids spread over 9·10⁸ items and
 *    10⁸ users with the same skewed popularity; the table itself is not allocated);
 *  - f and c: a training step's fixed cost and its cost per sample on one core (in-thread steps at two
 *    batch sizes, --fit-batches), what one rank computes.
 * Per step a rank sends (src/parallel/mpi/runner.ts, and bytes_out_per_step in bench/scaling's mpi
 * rows checks it): the dense reduce-scatter and all-gather, 2·4·P·(N-1)/N bytes; the row requests,
 * the rows returned and the row gradients, U·(N-1)/N·(4 + 2·4·D) bytes. Assumptions, not measured
 * here: one rank per core, --ranks-per-host of them per host, all of a host's ranks sharing its NIC;
 * a message latency --latency-us per peer and collective (7 collectives a step, each a linear
 * exchange with every other rank); no overlap of communication with compute.
 *
 * Two layouts of a host's --ranks-per-host cores: `rank-per-core` (one rank per core) and
 * `rank-per-host` (hybrid: one rank per host with that many threads, `--workers` with `--transport
 * mpi`): then a host has one peer per other host, and its rank sends the rows of the host's whole
 * part of the batch once (U of ranks-per-host × micro samples, which overlap) instead of per core.
 * Assumed for it: the threads of a rank compute their micro-batches in parallel at the one-core
 * speed (the thread transport measured 1.6-1.8× for 2 threads on 2 vCPUs, README), and their sum in
 * shared memory is free beside the step. Checkpoints and validation are not in a step: each rank
 * writes its own shard file (no table crosses the network; README), and validation exchanges rows
 * as a step does, once per validation.
 *
 *   node dist/bench/mpi-model.js [--micro 1024] [--ranks-per-host 16] [--latency-us 20] [--fit-batches 256,2048] [--steps 6]
 */
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    micro: { type: 'string', default: '1024' }, 'ranks-per-host': { type: 'string', default: '16' }, 'latency-us': { type: 'string', default: '20' },
    'fit-batches': { type: 'string', default: '256,2048' }, steps: { type: 'string', default: '6' }, engine: { type: 'string', default: 'native' },
  },
});
process.env.CMDCM_LOG_LEVEL ??= 'silent';
const micro = Number(values.micro), k = Number(values['ranks-per-host']), alpha = Number(values['latency-us']) / 1e6;
const fitB = values['fit-batches']!.split(',').map(Number), steps = Number(values.steps);

const { createModel, defaultModelConfig, uniqueRows } = await import('../src/model/index.js');
const { useEngine } = await import('../src/engine/index.js');
const { syntheticSchema, syntheticSamples } = await import('../test/parallel/testing-data.js');
const { gatherColumns } = await import('../src/data/batch.js');
const { initTrainState } = await import('../src/train/state.js');
const { DEFAULT_TRAIN_CONFIG } = await import('../src/train/config.js');
const { localStepRunner, stepHyper } = await import('../src/train/step.js');
const engine = await useEngine(values.engine as never);

const schema = syntheticSchema();
const model = createModel(defaultModelConfig('cmdcm'), schema);
const P = model.layout.total, D = model.dim;

/** Mean unique rows of micro-batches of b samples (4 batches). */
function uniqueOf(s: ReturnType<typeof syntheticSchema>, b: number): number {
  const data = syntheticSamples(s, b * 4, 11);
  let sum = 0;
  for (let i = 0; i < 4; i++) {
    const batch = gatherColumns(s, data, Array.from({ length: b }, (_, j) => i * b + j));
    sum += uniqueRows([batch.fields, batch.seq], s.tableRows).length;
  }
  return sum / 4;
}
const big = syntheticSchema({ items: 900_000_000, users: 100_000_000 });
const U = { default: uniqueOf(schema, micro), billion: uniqueOf(big, micro) };
// a host's whole part of the batch (hybrid: one rank per host sends each of its rows once)
const UHost = { default: uniqueOf(schema, micro * k), billion: uniqueOf(big, micro * k) };

// f + c·b from in-thread steps (the median of `steps` after 2 warm-up steps) at two batch sizes
const cfg = { ...DEFAULT_TRAIN_CONFIG };
const h = stepHyper(cfg, 1e-3);
const msAt: number[] = [];
for (const b of fitB) {
  const data = syntheticSamples(schema, b * 2, 5);
  const batches = [0, 1].map((i) => gatherColumns(schema, data, Array.from({ length: b }, (_, j) => i * b + j)));
  const state = initTrainState(model, schema, { ...cfg, batchSize: b });
  const r = localStepRunner(model);
  const times: number[] = [];
  for (let i = 0; i < steps + 2; i++) {
    const t0 = performance.now();
    await r.step(state, batches[i % 2], h);
    if (i >= 2) times.push(performance.now() - t0);
  }
  times.sort((x, y) => x - y);
  msAt.push(times[times.length >> 1]);
}
const c = (msAt[1] - msAt[0]) / (fitB[1] - fitB[0]), f = Math.max(0, msAt[0] - c * fitB[0]);

const gbit = [10, 25, 100], hostsList = [2, 4, 8, 16, 32, 64];
const rows: Record<string, unknown>[] = [];
for (const layout of ['rank-per-core', 'rank-per-host'] as const) for (const table of ['default', 'billion'] as const) {
  const tableRows = table === 'default' ? schema.tableRows : big.tableRows;
  // ranks per host, and the rows one rank's part of a step touches
  const kr = layout === 'rank-per-core' ? k : 1;
  const u = layout === 'rank-per-core' ? U[table] : UHost[table];
  for (const hosts of hostsList) {
    const N = hosts * kr, share = (N - 1) / N;
    const perRank = 2 * 4 * P * share + u * share * (4 + 8 * D);
    // of a rank's peers, those on other hosts: their traffic crosses this host's NIC
    const remote = (N - kr) / (N - 1);
    const hostBytes = kr * perRank * remote;
    const compute = f + c * micro;
    const latency = 7 * (N - 1) * alpha * 1000;
    const row: Record<string, unknown> = {
      layout, table, tableRows, hosts, ranks: N, threads_per_rank: k / kr, global_batch: hosts * k * micro, rank_MB_per_step: +(perRank / 1e6).toFixed(2), host_MB_per_step: +(hostBytes / 1e6).toFixed(1),
      table_GB_per_host: +((tableRows * D * 4 * 3) / hosts / 1e9).toFixed(2), compute_ms: +compute.toFixed(0), latency_ms: +latency.toFixed(1),
    };
    for (const g of gbit) {
      const wire = (hostBytes * 8) / (g * 1e9) * 1000;
      const step = compute + wire + latency;
      row[`step_ms_${g}G`] = +step.toFixed(0);
      row[`efficiency_${g}G`] = +(compute / step).toFixed(2);
      row[`samples_per_s_${g}G`] = Math.round((hosts * k * micro * 1000) / step);
    }
    rows.push(row);
  }
}
const out = {
  bench: 'mpi-model', engine, params: P, dim: D, micro_batch: micro, ranks_per_host: k, latency_us: alpha * 1e6,
  measured: { unique_rows_per_micro_batch: U, unique_rows_per_host_batch: UHost, fixed_ms_per_step: +f.toFixed(1), ms_per_sample: +c.toFixed(4), step_ms_at: Object.fromEntries(fitB.map((b, i) => [b, +msAt[i].toFixed(1)])) },
};
process.stdout.write(JSON.stringify(out) + '\n');
for (const r of rows) process.stdout.write(JSON.stringify({ bench: 'mpi-model', ...r }) + '\n');
