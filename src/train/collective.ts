import type { SampleColumns } from '../data/batch.js';
import type { Predictions } from '../model/types.js';
import type { Checkpoint, CheckpointMeta } from './checkpoint.js';
import type { StepRunner } from './step.js';
import type { TrainState } from './state.js';

/**
 * A StepRunner whose processes each hold part of the training state (the MPI ranks of
 * src/parallel/mpi): every process holds the dense parameters and only the embedding-table rows it
 * owns, in every phase: start, steps, validation and checkpoints. Every process runs the trainer loop
 * in lockstep — the same permutation, the same steps, the same validation and checkpoint points —
 * and only the lead (rank 0) logs metrics and writes the run's files other than its own checkpoint
 * shard. Each method marked collective must be called by every process at the same point of the loop.
 */
export interface CollectiveRunner extends StepRunner {
  readonly collective: true;
  /** true on every process but the lead */
  readonly follower: boolean;
  /**
   * Samples [lo, hi) of an n-sample global batch this process trains on; the trainer gathers only
   * those and passes them to the next `step`, which reports the global n.
   */
  batchRange(n: number): [number, number];
  /**
   * The start state on every process (collective; replaces `attach`): resumed from the run's last
   * good checkpoint when `resume` is given and the run has one (each process reads only its own
   * rows; a whole-state checkpoint is read by the lead and its rows sent to their owners), else
   * fresh (`fresh()` on the lead gives the dense parameters and scalars, `initRows` fills a
   * process's own rows). The state's table arrays stay empty: the rows live in the runner.
   */
  start(o: {
    fresh: () => TrainState;
    initRows: (N: number, u: number, out: Float32Array) => void;
    resume?: { runDir: string; check: (ck: Checkpoint, path: string) => void };
  }): Promise<{ state: TrainState; resumedFrom?: number; path?: string }>;
  /**
   * Writes a checkpoint (collective): each process its shard file, then the lead the manifest
   * (`train`: rotated in as ckpt-latest with the optimizer state; `best`: best.cmck, parameters and
   * table only). Returns the manifest's path on the lead.
   */
  save(kind: 'train' | 'best', runDir: string, meta: CheckpointMeta, state: TrainState): Promise<string | undefined>;
  /**
   * Predictions for every sample of `cols` on every process (collective): each process scores its
   * part of each pass of `batchSize` samples with rows fetched from their owners, and the parts are
   * gathered in sample order, so every process sees the single-process predictions.
   */
  predict(state: TrainState, cols: SampleColumns, batchSize: number): Promise<Predictions>;
  /**
   * Every process adopts the lead's scalars (best, badValidations, finished) and whether the lead's
   * `stop` signal is aborted (an interrupt; read after the runner let pending signal handlers run);
   * returns whether to stop. Collective.
   */
  agree(state: TrainState, stop?: AbortSignal): Promise<boolean>;
  /**
   * The loop on this process ended with an error: `close` must then leave without waiting for the
   * other processes (the launcher stops them when this one exits with the error).
   */
  abandon(): void;
}

export function isCollective(r: StepRunner | undefined): r is CollectiveRunner {
  return Boolean(r && (r as Partial<CollectiveRunner>).collective === true);
}
