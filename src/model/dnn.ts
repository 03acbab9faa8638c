import * as tf from '@tensorflow/tfjs';
import type { ModelConfig } from './config.js';
import type { Architecture } from './architecture.js';
import { declareInputs, embedInputs, withDense, type InputInfo } from './inputs.js';
import { declareTower, towerLogit } from './layers.js';

/**
 * DNN baseline: one tower on the shared input, trained on the delayed label of all clicks (the
 * single task). It has no notion of the cart step, so its `transition` prediction is its delayed
 * score itself; `direct` and `atc` come from intercept-only priors (one trained bias each), which
 * keeps their columns calibrated (PCOC ≈ 1) without giving the baseline extra supervision.
 */
export function dnnArchitecture(cfg: ModelConfig, info: InputInfo): Architecture {
  return {
    declare(b) {
      declareInputs(b, cfg, info);
      declareTower(b, 'tower/delayed', info.inputWidth, cfg.towerUnits);
      b.add('prior/direct', [1], 'zeros');
      b.add('prior/atc', [1], 'zeros');
    },
    forward(p, x) {
      const e = embedInputs(p, x, cfg, info);
      const prior = (name: string) => tf.broadcastTo(p.get<tf.Tensor1D>(name), [x.n]) as tf.Tensor1D;
      return {
        direct: prior('prior/direct'),
        atc: prior('prior/atc'),
        delayed: towerLogit(withDense(e.emb, e.dense), p, 'tower/delayed', cfg.towerUnits.length),
      };
    },
  };
}
