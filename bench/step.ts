// Benchmark: samples/s of one full CM-DCM training step on native and cpu (JSON lines). Same as
// `cmdcm bench step`; flags pass through, e.g. `node dist/bench/step.js --engine native --profile`.
import { run } from '../src/cli/commands/bench.js';

process.exitCode = await run(['step', ...process.argv.slice(2)]);
