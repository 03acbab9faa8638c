import * as tf from '@tensorflow/tfjs-core';
import type { ModelConfig } from './config.js';
import { detach, type Architecture, type ForwardHooks } from './architecture.js';
import { declareInputs, embedInputs, withDense, type InputInfo, type Inputs } from './inputs.js';
import { declareGate, declarePrior, declareTower, gate, priorLogit, stopGradient, towerLogit } from './layers.js';
import type { Heads } from './losses.js';
import type { LayoutBuilder, ParamView } from './params.js';

/**
 * CM-DCM (DESIGN.md "Model") and the networks that are CM-DCM with parts removed: the ablations
 * (no gating / no counterfactual / no direct task) and ESMM / ESCM2 (no gating, no direct task).
 *
 * Gating (PEPNet): the gate input is the user's dense statistics (the 'u_*' columns, see
 * userStatColumns) ⊕ stop-gradient(user embedding), so
 * the gates personalise the network without the gate path pulling on the embeddings. The embedding
 * gate scales the F field embeddings and the pooled history element-wise; each task tower has its
 * own gate per hidden layer, scaling that layer's ReLU output. Without a direct task, p_direct is an
 * intercept-only prior (one trained bias), kept so every model fills every prediction column.
 * With nonCartPath a fourth, gated tower p_noncart covers promotion-day buys without a cart:
 * p_delayed = p_atc·p_transition + (1 − p_atc)·p_noncart (losses.ts, term 'delayed').
 */
type Task = 'direct' | 'atc' | 'transition' | 'noncart';

export function cmdcmArchitecture(cfg: ModelConfig, info: InputInfo): Architecture {
  const tasks: Task[] = cfg.directTask ? ['direct', 'atc', 'transition'] : ['atc', 'transition'];
  if (cfg.nonCartPath) tasks.push('noncart');
  const useEmb = cfg.gateUserEmbedding || info.denseDim === 0;
  const gateIn = (info.denseDim > 0 ? info.gateDenseCols.length : 0) + (useEmb ? info.dim : 0);
  const nLayers = cfg.towerUnits.length;

  const towerGates = (p: ParamView, gin: tf.Tensor2D | null, task: Task, hooks: ForwardHooks): tf.Tensor2D[] | undefined => {
    if (!gin) return undefined;
    return cfg.towerUnits.map((_, i) => {
      const g = gate(gin, p, `gate/${task}/${i}`);
      return hooks.constantGates ? stopGradient(g) : g;
    });
  };

  return {
    declare(b: LayoutBuilder) {
      declareInputs(b, cfg, info);
      if (cfg.gating) {
        if (cfg.gateEmbedding) declareGate(b, 'gate/emb', gateIn, cfg.gateUnits, info.embWidth);
        for (const t of tasks) cfg.towerUnits.forEach((u, i) => declareGate(b, `gate/${t}/${i}`, gateIn, cfg.gateUnits, u));
      }
      for (const t of tasks) declareTower(b, `tower/${t}`, info.inputWidth, cfg.towerUnits);
      if (!cfg.directTask) declarePrior(b, 'prior/direct');
      if (cfg.counterfactual === 'dr') declareTower(b, 'tower/imputation', info.inputWidth, cfg.towerUnits);
    },

    forward(p: ParamView, x: Inputs, hooks: ForwardHooks): Heads {
      const e = embedInputs(p, x, cfg, info);
      let emb = e.emb;
      // gate inputs: the ATC / direct towers' and the delayed path's (delayedDenseMask: history
      // columns that never vary where a delayed label is known reach only the former)
      let gin: tf.Tensor2D | null = null, ginD: tf.Tensor2D | null = null;
      if (cfg.gating) {
        const u = detach('gateInput', e.user, hooks);
        const withUser = (d: tf.Tensor2D | null) => (d && useEmb ? (tf.concat([d, u], 1) as tf.Tensor2D) : d ?? u);
        gin = withUser(e.gateDense);
        ginD = e.gateDenseDelayed === e.gateDense ? gin : withUser(e.gateDenseDelayed);
        if (cfg.gateEmbedding) {
          // it scales the input of every tower, the delayed path's included
          const g = gate(ginD, p, 'gate/emb');
          emb = tf.mul(emb, hooks.constantGates ? stopGradient(g) : g);
        }
      }
      const input = withDense(emb, e.dense);
      const inputD = e.denseDelayed === e.dense ? input : withDense(emb, e.denseDelayed);
      const delayedPath = (t: Task) => t === 'transition' || t === 'noncart';
      const logit = (t: Task) => towerLogit(delayedPath(t) ? inputD : input, p, `tower/${t}`, nLayers, towerGates(p, delayedPath(t) ? ginD : gin, t, hooks));
      const heads: Heads = {
        direct: cfg.directTask ? logit('direct') : priorLogit(p, 'prior/direct', x.n),
        atc: logit('atc'),
        transition: logit('transition'),
      };
      if (cfg.nonCartPath) heads.noncart = logit('noncart');
      if (cfg.counterfactual === 'dr') heads.imputation = tf.softplus(towerLogit(inputD, p, 'tower/imputation', nLayers));
      return heads;
    },
  };
}
