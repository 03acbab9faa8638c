import { C_ABORT, C_BAR_COUNT, C_BAR_GEN } from './layout.js';
import type { Waiter } from './region.js';

/** Thrown in a worker when the coordinator aborted the run while it waited. */
export class AbortedError extends Error {
  constructor() {
    super('aborted by the coordinator');
    this.name = 'AbortedError';
  }
}

/**
 * A reusable barrier for `parties` workers over two ctrl words (arrival count and generation): the
 * last to arrive resets the count and bumps the generation, which releases the others. Waiting is
 * in slices so a worker notices an abort (a peer died) instead of waiting forever.
 */
export class Barrier {
  constructor(private readonly ctrl: Int32Array, private readonly parties: number, private readonly waiter: Waiter,
    private readonly sliceMs = 200) {}

  arrive(): void {
    const c = this.ctrl;
    const gen = Atomics.load(c, C_BAR_GEN);
    if (Atomics.add(c, C_BAR_COUNT, 1) === this.parties - 1) {
      Atomics.store(c, C_BAR_COUNT, 0);
      Atomics.add(c, C_BAR_GEN, 1);
      this.waiter.notify(c, C_BAR_GEN);
      return;
    }
    while (Atomics.load(c, C_BAR_GEN) === gen) {
      if (Atomics.load(c, C_ABORT) !== 0) throw new AbortedError();
      this.waiter.wait(c, C_BAR_GEN, gen, this.sliceMs);
    }
  }
}

/** The coordinator's side of an abort: flag it and wake every waiter. */
export function abortAll(ctrl: Int32Array, waiter: Waiter): void {
  Atomics.store(ctrl, C_ABORT, 1);
  Atomics.add(ctrl, C_BAR_GEN, 0);
  waiter.notify(ctrl, C_BAR_GEN);
}
