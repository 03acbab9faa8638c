import type { ModelConfig } from '../model/config.js';
import { isCmdcmFamily } from '../model/config.js';
import type { EvalTask } from './report.js';

/**
 * Which tasks a model actually predicts. The others come from intercept-only priors (a constant:
 * DNN's direct and atc, direct of the CM-DCM family without a direct task), so reports show them as
 * priors instead of flagging a collapse.
 */
export function modeledTasks(cfg: Pick<ModelConfig, 'name' | 'directTask'>): EvalTask[] {
  if (cfg.name === 'dnn') return ['transition', 'delayed'];
  if (isCmdcmFamily(cfg.name) && !cfg.directTask) return ['atc', 'transition', 'delayed'];
  return ['direct', 'atc', 'transition', 'delayed'];
}
