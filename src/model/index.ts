import type { Schema } from '../data/batch.js';
import type { Architecture, ForwardHooks } from './architecture.js';
import { cmdcmArchitecture } from './cmdcm.js';
import { MODEL_TABLE, resolveModelConfig, type ModelConfig, type ModelFamily } from './config.js';
import type { InputInfo } from './inputs.js';
import { dnnArchitecture } from './dnn.js';
import { inputInfo } from './inputs.js';
import { mmoeArchitecture } from './mmoe.js';
import { NetModel } from './net.js';
import { CmdcmError } from '../util/errors.js';

/** The network of each family of the model table (config.ts MODEL_TABLE). */
const ARCHITECTURES: Record<ModelFamily, (cfg: ModelConfig, info: InputInfo) => Architecture> = {
  cmdcm: cmdcmArchitecture,
  dnn: dnnArchitecture,
  mmoe: mmoeArchitecture,
};

/**
 * Entry point of the model module: `createModel(config, schema)` builds any of MODEL_NAMES behind
 * the `Model` interface (src/model/types.ts). The returned NetModel additionally offers
 * `gradTerms` (gradient of chosen loss terms) and `lossTerms` (term values, no gradient).
 */
export function createModel(config: ModelConfig, schema: Schema, hooks: ForwardHooks = {}): NetModel {
  // Re-validate: a config may come from a checkpoint or a hand-built object, not only from a file.
  const cfg = resolveModelConfig(config, `model config '${config.name}'`);
  const info = inputInfo(cfg, schema);
  if (cfg.denseStats && cfg.denseStats.mean.length !== schema.dense.length) {
    throw new CmdcmError(`model config '${cfg.name}': denseStats has ${cfg.denseStats.mean.length} columns, the schema has ${schema.dense.length} dense features (a run fit on another dataset?)`);
  }
  return new NetModel(cfg, schema, info, ARCHITECTURES[MODEL_TABLE[cfg.name].family](cfg, info), hooks);
}

export { NetModel, type GradOptions } from './net.js';
export { defaultModelConfig, resolveModelConfig, loadModelConfigFile, isCmdcmFamily, modeledTasks, termsOf, MODEL_TABLE, DEFAULTS_DOC } from './config.js';
export type { ModelConfig, LossWeights, Counterfactual, SeqPooling, DenseTransform, DenseStats } from './config.js';
export { baseRates, fitDenseStats, fullyLabelledRows, standardizeInPlace, rateLogit, type BaseRates } from './priors.js';
export type { ForwardHooks } from './architecture.js';
export { initTable, gatherBatchRows, uniqueRows, scatterAddRows } from './embedding.js';
export { TERM_NAMES, type TermName } from './losses.js';
export { MODEL_NAMES, type ModelName, type Model, type GradResult, type Predictions, type ParamLayout, type ParamSpec } from './types.js';
