/**
 * `--transport mpi`: data-parallel ranks under mpirun/srun with sharded embedding tables
 * (README "Beyond one host"). src/train/run.ts loads this module only for that transport.
 */
import type { Schema } from '../../data/batch.js';
import type { OptimKernels } from '../../engine/optim.js';
import type { EngineName } from '../../engine/index.js';
import type { ModelConfig } from '../../model/index.js';
import type { TrainConfig } from '../../train/config.js';
import { mpiWorld } from './binding.js';
import { MpiStepRunner } from './runner.js';

export { mpiWorld, mpiBuilt, MpiWorld, MPI_INSTALL_HINT, collectiveTimeoutS } from './binding.js';
export { MpiStepRunner, placeholderState, type MpiRunnerOptions, type MpiStepTimes, type MemPhase, type PhaseMemory } from './runner.js';
export { calibrateMpiRun } from './calibrate.js';
export { shardRows, planRequests, Compactor } from './shard.js';

/** This process's rank and the job size (initialises MPI; fails with what to install without it). */
export function mpiRank(): { rank: number; size: number } {
  const w = mpiWorld();
  return { rank: w.rank, size: w.size };
}

/** The StepRunner of this rank. */
export function createMpiRunner(o: { modelConfig: ModelConfig; schema: Schema; config: TrainConfig; paramCount: number; dim: number; optim?: OptimKernels; threads?: number; engine?: EngineName }): MpiStepRunner {
  return new MpiStepRunner({
    world: mpiWorld(), modelConfig: o.modelConfig, schema: o.schema, paramCount: o.paramCount, dim: o.dim, tableOptimizer: o.config.tableOptimizer, optim: o.optim,
    threads: o.threads, batchSize: o.config.batchSize, engine: o.engine,
  });
}
