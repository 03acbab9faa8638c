import * as tf from '@tensorflow/tfjs-core';
import { stopGradient } from './layers.js';

/**
 * The places where a value enters the graph detached (DESIGN.md "Known pitfalls"):
 *  - gateInput:  the user embedding fed to the PEPNet gates
 *  - propensity: p_atc inside the inverse-propensity weight
 *  - imputation: ê inside the DR estimator
 *  - error:      the transition error e inside the DR imputation loss
 */
export const DETACH_SITES = ['gateInput', 'propensity', 'imputation', 'error'] as const;
export type DetachSite = (typeof DETACH_SITES)[number];

/**
 * Test hooks (never set in training). `leak` drops a stop-gradient, to show a test detects the leak;
 * `constantGates` cuts every gradient path through the gates; `record`/`pinned` let the
 * finite-difference oracle hold each detached value at its base-point value, which is exactly the
 * function whose derivative the stop-gradient model computes.
 */
export interface ForwardHooks {
  leak?: DetachSite[];
  constantGates?: boolean;
  record?: Map<DetachSite, Float32Array>;
  pinned?: Map<DetachSite, Float32Array>;
}

export function detach<T extends tf.Tensor>(site: DetachSite, x: T, hooks: ForwardHooks): T {
  const pin = hooks.pinned?.get(site);
  if (pin) return tf.tensor(pin, x.shape, 'float32') as T;
  if (hooks.record) hooks.record.set(site, Float32Array.from(x.dataSync() as Float32Array));
  return hooks.leak?.includes(site) ? x : stopGradient(x);
}
