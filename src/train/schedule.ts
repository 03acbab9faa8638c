/**
 * Learning-rate schedules, as a pure function of the 0-based step so a resumed run needs no state.
 *
 *  - `constant`: `lr` at every step (after the optional warmup).
 *  - `cosine` (default): linear warmup from 0 to `lr` over `warmupSteps`, then cosine decay from `lr`
 *    to `lr * minLrRatio` at the last step.
 *  - `step`: after warmup, `lr * gamma^floor((step - warmup) / stepEvery)`.
 *
 * Warmup is linear in every schedule: step s < warmupSteps gets `lr * (s + 1) / warmupSteps`.
 */
export type ScheduleKind = 'constant' | 'cosine' | 'step';
export const SCHEDULES: readonly ScheduleKind[] = ['constant', 'cosine', 'step'];

export interface ScheduleConfig {
  kind: ScheduleKind;
  lr: number;
  warmupSteps: number;
  /** cosine: final lr as a fraction of `lr` */
  minLrRatio: number;
  /** step: decay factor and period in steps */
  gamma: number;
  stepEvery: number;
}

export function learningRate(cfg: ScheduleConfig, step: number, totalSteps: number): number {
  const warm = Math.max(0, Math.floor(cfg.warmupSteps));
  if (step < warm) return (cfg.lr * (step + 1)) / warm;
  const s = step - warm;
  switch (cfg.kind) {
    case 'constant':
      return cfg.lr;
    case 'step':
      return cfg.lr * Math.pow(cfg.gamma, Math.floor(s / Math.max(1, cfg.stepEvery)));
    case 'cosine': {
      const span = Math.max(1, totalSteps - warm - 1);
      const frac = Math.min(1, s / span);
      const lo = cfg.lr * cfg.minLrRatio;
      return lo + 0.5 * (cfg.lr - lo) * (1 + Math.cos(Math.PI * frac));
    }
  }
}
