/**
 * The data-parallel trainer (DESIGN.md "Parallel trainer"). The single-process trainer
 * (src/train) owns the loop, schedule, validation and checkpoints; this module supplies its
 * StepRunner: W workers (piscina threads or forked processes) that split every global batch and
 * average gradients through shared memory.
 *
 *  - `createParallelRunner`: the factory src/train/run.ts loads for `--workers N` (and its
 *    `trainParallel`, for any worker count).
 */
import type { EngineName } from '../engine/index.js';
import type { ParallelRunnerOptions, StepRunner } from '../train/step.js';
import { ParallelStepRunner } from './runner.js';
import type { Transport } from './gpus.js';
import type { FaultInjection, ModelSpec } from './worker-core.js';

export { ParallelStepRunner, parallelStepRunner, resolveTransport, type ParallelOptions } from './runner.js';
export { assignGpus, detectGpus, parseGpuList, parseNvidiaSmi, visibleGpus, type GpuPlan, type Transport } from './gpus.js';
export type { ModelSpec, FaultInjection } from './worker-core.js';

export interface ParallelExtras {
  /** 'thread' (default; native/cpu engines) or 'process' (default for tensorflow) */
  transport?: Transport;
  /** process transport: GPU ids, one per worker process (default: detected) */
  gpus?: string[];
  /** module exporting createModel(config, schema), when not cmdcm's own models */
  modelModule?: string;
  /** testing only */
  fault?: FaultInjection;
}

/** The StepRunner for `workers` workers; the trainer calls attach/step/close. */
export async function createParallelRunner(o: ParallelRunnerOptions & ParallelExtras): Promise<StepRunner> {
  const model: ModelSpec = { module: o.modelModule, config: o.modelConfig };
  return new ParallelStepRunner(o.model, {
    workers: o.workers, transport: o.transport, engine: o.engine as EngineName, gpus: o.gpus, model, schema: o.schema,
    batchSize: o.config.batchSize, tableOptimizer: o.config.tableOptimizer, fault: o.fault,
  });
}
