import * as tf from '@tensorflow/tfjs-core';
import { detach, type ForwardHooks } from './detach.js';
import type { Counterfactual, LossWeights } from './config.js';

/**
 * Loss terms (DESIGN.md "Model"), each masked per sample and task and normalised by the batch:
 *
 *   term = weight · lossScale · Σ_i mask_i · ℓ_i / N
 *
 * N is the number of samples in *this* batch, not the number with the label available: a worker
 * holding b of a global batch B passes lossScale = b / B, so its term is Σ_i mask_i ℓ_i / B and the
 * W workers' gradients sum to exactly the one-worker gradient of the global batch. (Normalising by
 * Σ mask instead would break that sum.) A consequence: in the target pre-window, whose delayed label
 * is masked, the delayed-dependent terms are diluted by the masked samples, as in ESMM's
 * entire-space view where every click counts.
 *
 * Terms (names as in GradResult.terms):
 *  - direct  BCE(p_d, direct), direct mask
 *  - atc     BCE(p_a, atc), atc mask
 *  - ctcvr   BCE(p_a·p_t, atc∧delayed), atc·delayed mask (entire space)
 *  - cf      ipw: atc · BCE(p_t, delayed) · w,  w = min(1 / max(sg(p_a), floor), maxInverseWeight)
 *            dr:  sg(ê) + atc · w · (BCE(p_t, delayed) − sg(ê))      (atc·delayed mask)
 *  - imp     dr only: atc · w · (sg(BCE(p_t, delayed)) − ê)², trains the imputation tower
 *  - delayed BCE(p_delayed, delayed), delayed mask: dnn, mmoe (a delayed head), and the CM-DCM
 *            family with a non-cart head, p_delayed = p_a·p_t + (1 − p_a)·p_n. Its gradient
 *            reaches p_a (entire space, as ctcvr's does); the cf weight stays detached.
 * w never carries gradient into the ATC tower (the public-port bug, DESIGN.md "Known pitfalls").
 */

/** Logit-space heads of one batch (all N). */
export interface Heads {
  direct: tf.Tensor1D;
  atc: tf.Tensor1D;
  /** P(delayed | click, do(atc)) logit; p_delayed = p_atc · p_transition */
  transition?: tf.Tensor1D;
  /** direct P(delayed | click) logit, for models without a transition tower */
  delayed?: tf.Tensor1D;
  /** P(delayed | click, no atc) logit (CM-DCM nonCartPath) */
  noncart?: tf.Tensor1D;
  /** DR imputed error ê ≥ 0 */
  imputation?: tf.Tensor1D;
}

export interface BatchLabels {
  n: number;
  /** per task (TASKS order): labels and masks, N each */
  y: [tf.Tensor1D, tf.Tensor1D, tf.Tensor1D];
  m: [tf.Tensor1D, tf.Tensor1D, tf.Tensor1D];
}

export interface TermOptions {
  counterfactual: Counterfactual;
  propensityFloor: number;
  maxInverseWeight: number;
  weights: LossWeights;
  /** test hooks (architecture.ts) */
  hooks: ForwardHooks;
}

export { TERM_NAMES, type TermName } from './types.js';
import { TERM_NAMES, type TermName } from './types.js';

/** Per-sample binary cross-entropy from a logit: softplus(z) − y·z (no log(0) anywhere). */
export function bceLogits(z: tf.Tensor1D, y: tf.Tensor1D): tf.Tensor1D {
  return tf.sub(tf.softplus(z), tf.mul(y, z));
}

const P_MAX = 1 - 1e-7;

/**
 * Per-sample BCE of a product of two sigmoids: log p = log σ(za) + log σ(zb) exactly; log(1 − p)
 * with p capped just below 1 so that a saturated product stays finite.
 */
export function bceProductLogits(za: tf.Tensor1D, zb: tf.Tensor1D, y: tf.Tensor1D): tf.Tensor1D {
  const logP = tf.add(tf.logSigmoid(za), tf.logSigmoid(zb));
  const log1mP = tf.log1p(tf.neg(tf.minimum(tf.exp(logP), P_MAX)));
  return tf.neg(tf.add(tf.mul(y, logP), tf.mul(tf.sub(1, y), log1mP))) as tf.Tensor1D;
}

function logAddExp(a: tf.Tensor1D, b: tf.Tensor1D): tf.Tensor1D {
  const m = tf.maximum(a, b);
  return tf.add(m, tf.log(tf.add(tf.exp(tf.sub(a, m)), tf.exp(tf.sub(b, m))))) as tf.Tensor1D;
}

/**
 * Per-sample BCE of the mixture p = σ(za)σ(zt) + σ(−za)σ(zn), in log space on both sides:
 * log p = logaddexp(logσ(za) + logσ(zt), logσ(−za) + logσ(zn)) and, since
 * 1 − p = σ(za)σ(−zt) + σ(−za)σ(−zn), log(1 − p) likewise — exact, finite at any logits.
 */
export function bceMixtureLogits(za: tf.Tensor1D, zt: tf.Tensor1D, zn: tf.Tensor1D, y: tf.Tensor1D): tf.Tensor1D {
  // log σ(−z) directly, not as log σ(z) − z: that equals it, but its gradient σ(−z) − 1 = −σ(z)
  // cancels to float32 rounding noise once σ(z) < 1e-7, and a promotion-day buy without a cart is
  // that rare: the non-cart tower then learnt from noise that each engine rounded its own way
  const la = tf.logSigmoid(za), lt = tf.logSigmoid(zt), ln = tf.logSigmoid(zn);
  // (as −softplus(z): tfjs's logSigmoid keeps its input for the gradient only by closure, which
  // fails on an intermediate such as −z)
  const lna = tf.neg(tf.softplus(za)), lnt = tf.neg(tf.softplus(zt)), lnn = tf.neg(tf.softplus(zn));
  const logP = logAddExp(tf.add(la, lt) as tf.Tensor1D, tf.add(lna, ln) as tf.Tensor1D);
  const log1mP = logAddExp(tf.add(la, lnt) as tf.Tensor1D, tf.add(lna, lnn) as tf.Tensor1D);
  return tf.neg(tf.add(tf.mul(y, logP), tf.mul(tf.sub(1, y), log1mP))) as tf.Tensor1D;
}

/** Clipped inverse propensity; `p` must already be detached unless the leak hook is on. */
export function inverseWeight(pAtc: tf.Tensor1D, floor: number, maxW: number): tf.Tensor1D {
  return tf.minimum(tf.div(1, tf.maximum(pAtc, floor)), maxW);
}

function maskedMean(l: tf.Tensor1D, mask: tf.Tensor1D, scale: number): tf.Scalar {
  return tf.mul(tf.sum(tf.mul(l, mask)), scale);
}

/** The weighted, scaled loss terms present for these heads. */
export function lossTerms(h: Heads, lab: BatchLabels, opt: TermOptions, lossScale: number): Partial<Record<TermName, tf.Scalar>> {
  const s = lossScale / lab.n;
  const W = opt.weights;
  const [yD, yA, yL] = lab.y;
  const [mD, mA, mL] = lab.m;
  const out: Partial<Record<TermName, tf.Scalar>> = {};
  out.direct = maskedMean(bceLogits(h.direct, yD), mD, s * W.direct);
  out.atc = maskedMean(bceLogits(h.atc, yA), mA, s * W.atc);
  if (h.transition) {
    const mAL = tf.mul(mA, mL) as tf.Tensor1D;
    out.ctcvr = maskedMean(bceProductLogits(h.atc, h.transition, tf.mul(yA, yL) as tf.Tensor1D), mAL, s * W.ctcvr);
    if (opt.counterfactual !== 'none') {
      const pA = tf.sigmoid(h.atc);
      const w = inverseWeight(detach('propensity', pA, opt.hooks), opt.propensityFloor, opt.maxInverseWeight);
      const e = bceLogits(h.transition, yL);
      const ow = tf.mul(yA, w) as tf.Tensor1D;
      if (opt.counterfactual === 'ipw') {
        out.cf = maskedMean(tf.mul(ow, e) as tf.Tensor1D, mAL, s * W.cf);
      } else {
        if (!h.imputation) throw new Error('dr needs an imputation head');
        const eHat = detach('imputation', h.imputation, opt.hooks);
        out.cf = maskedMean(tf.add(eHat, tf.mul(ow, tf.sub(e, eHat))) as tf.Tensor1D, mAL, s * W.cf);
        out.imp = maskedMean(tf.mul(ow, tf.square(tf.sub(detach('error', e, opt.hooks), h.imputation))) as tf.Tensor1D, mAL, s * W.imp);
      }
    }
  }
  if (h.transition && h.noncart) out.delayed = maskedMean(bceMixtureLogits(h.atc, h.transition, h.noncart, yL), mL, s * W.delayed);
  if (h.delayed) out.delayed = maskedMean(bceLogits(h.delayed, yL), mL, s * W.delayed);
  return out;
}
