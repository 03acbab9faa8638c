import * as tf from '@tensorflow/tfjs-core';
import type { ModelConfig } from './config.js';
import type { Architecture } from './architecture.js';
import { declareInputs, embedInputs, withDense, type InputInfo } from './inputs.js';
import { declareDense, declareMlp, declareTower, dense, mlp, towerLogit } from './layers.js';

/**
 * MMoE baseline (Ma et al. 2018): `experts` ReLU MLPs on the shared input; per task a softmax gate
 * over the experts (a linear layer on the same input) mixes them, and a task tower (`towerUnits`)
 * gives the logit. Tasks: direct, atc and delayed, each on all clicks. Like the DNN it predicts
 * P(delayed | click) directly, so its `transition` prediction is that delayed score.
 */
const TASKS = ['direct', 'atc', 'delayed'] as const;

export function mmoeArchitecture(cfg: ModelConfig, info: InputInfo): Architecture {
  const K = cfg.experts;
  const H = cfg.expertUnits[cfg.expertUnits.length - 1];
  return {
    declare(b) {
      declareInputs(b, cfg, info);
      for (let k = 0; k < K; k++) declareMlp(b, `expert/${k}`, info.inputWidth, cfg.expertUnits);
      for (const t of TASKS) {
        declareDense(b, `mix/${t}`, info.inputWidth, K);
        declareTower(b, `tower/${t}`, H, cfg.towerUnits);
      }
    },
    forward(p, x) {
      const e = embedInputs(p, x, cfg, info);
      // the experts feed the delayed head too: they see the delayed path's dense columns
      const input = withDense(e.emb, e.denseDelayed);
      const experts = tf.stack(Array.from({ length: K }, (_, k) => mlp(input, p, `expert/${k}`, cfg.expertUnits.length)), 1); // N × K × H
      const logit = (t: (typeof TASKS)[number]) => {
        const g = tf.softmax(dense(input, p, `mix/${t}`, 'linear')); // N × K
        const mixed = tf.sum(tf.mul(experts, tf.expandDims(g, 2)), 1) as tf.Tensor2D;
        return towerLogit(mixed, p, `tower/${t}`, cfg.towerUnits.length);
      };
      return { direct: logit('direct'), atc: logit('atc'), delayed: logit('delayed') };
    },
  };
}
