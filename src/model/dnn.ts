import type { ModelConfig } from './config.js';
import type { Architecture } from './architecture.js';
import { declareInputs, embedInputs, withDense, type InputInfo } from './inputs.js';
import { declarePrior, declareTower, priorLogit, towerLogit } from './layers.js';

/**
 * DNN baseline: one tower on the shared input, trained on the delayed label of all clicks (the
 * single task). It has no notion of the cart step, so its `transition` prediction is its delayed
 * score itself; `direct` and `atc` come from intercept-only priors (layers.ts priorLogit: one trained
 * bias each), which keeps their columns calibrated (PCOC ≈ 1) without giving the baseline extra
 * supervision (AUC 0.5 by construction).
 */
export function dnnArchitecture(cfg: ModelConfig, info: InputInfo): Architecture {
  return {
    declare(b) {
      declareInputs(b, cfg, info);
      declareTower(b, 'tower/delayed', info.inputWidth, cfg.towerUnits);
      declarePrior(b, 'prior/direct');
      declarePrior(b, 'prior/atc');
    },
    forward(p, x) {
      const e = embedInputs(p, x, cfg, info);
      return {
        direct: priorLogit(p, 'prior/direct', x.n),
        atc: priorLogit(p, 'prior/atc', x.n),
        delayed: towerLogit(withDense(e.emb, e.denseDelayed), p, 'tower/delayed', cfg.towerUnits.length),
      };
    },
  };
}
