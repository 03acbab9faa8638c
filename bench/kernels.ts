// Benchmark: GFLOP/s of the default model's MatMul shapes (JSON lines). Same as `cmdcm bench kernels`;
// flags are passed through, e.g. `node dist/bench/kernels.js --engine native --gemm in-tree`.
import { run } from '../src/cli/commands/bench.js';

process.exitCode = await run(['kernels', ...process.argv.slice(2)]);
