import type { StepRunner } from './step.js';
import type { TrainState } from './state.js';

/**
 * A StepRunner whose processes each hold part of the training state (the MPI ranks of
 * src/parallel/mpi). Every process runs the trainer loop in lockstep — the same permutation, the
 * same steps, the same validation and checkpoint points — and only the lead (rank 0) writes files,
 * logs metrics and validates. Each method marked collective must be called by every process at the
 * same point of the loop.
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
   * The whole state on the lead (parameters, the full table gathered from its owners, and with
   * `moments` the optimizer moments), undefined on the others. Collective.
   */
  snapshot(state: TrainState, moments: boolean): Promise<TrainState | undefined>;
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
