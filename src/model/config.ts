import { readFileSync } from 'node:fs';
import { CmdcmError } from '../util/errors.js';
import { didYouMean } from '../util/suggest.js';
import { MODEL_NAMES, PREDICTED_TASKS, TERM_NAMES, type ModelName, type PredictedTask, type TermName } from './types.js';
import type { DelayedCalibration } from './calibration.js';

/**
 * Model hyper-parameters: the JSON config file (`--model-config FILE`) is a partial ModelConfig
 * merged over `defaultModelConfig(name)`. Every field and its default is listed in DEFAULTS_DOC.
 *
 * The model *name* picks the network family and its defaults:
 *  - CM-DCM family (`cmdcm`, `cmdcm-nogate`, `cmdcm-nocf`, `cmdcm-nodirect`, `esmm`, `escm2-ipw`,
 *    `escm2-dr`): shared input → (optional PEPNet gates) → ATC tower, transition tower, optional
 *    direct tower, with p_delayed = p_atc · p_transition. ESMM/ESCM2 are this network without gating
 *    and without the direct task, so the comparison isolates what CM-DCM adds.
 *  - `dnn`: one tower trained on the delayed label only.
 *  - `mmoe`: shared experts, one softmax gate and one tower per task (direct, atc, delayed).
 * Flags that a family does not have (gating/directTask/counterfactual for dnn and mmoe) are rejected.
 */
export type Counterfactual = 'ipw' | 'dr' | 'none';
export type SeqPooling = 'din' | 'mean';
export type DenseTransform = 'log1p' | 'none';

/** Per-column standardization of the dense features, fit on the train split (fitDenseStats). */
export interface DenseStats {
  mean: number[];
  /** 0 for a column constant on the train split: it then maps to 0 */
  std: number[];
}

export interface LossWeights {
  /** BCE(p_direct, direct), all clicks */
  direct: number;
  /** BCE(p_atc, atc), all clicks */
  atc: number;
  /** entire-space BCE(p_atc·p_transition, atc∧delayed), all clicks */
  ctcvr: number;
  /** counterfactual (IPW or DR) term on p_transition */
  cf: number;
  /** DR imputation-tower loss */
  imp: number;
  /**
   * BCE(p_delayed, delayed), all clicks: models with a delayed head (dnn, mmoe), and the CM-DCM
   * family with nonCartPath, where p_delayed = p_atc·p_transition + (1 − p_atc)·p_noncart
   */
  delayed: number;
}

export interface ModelConfig {
  name: ModelName;
  /** embedding width = the table's row width */
  dim: number;
  seqPooling: SeqPooling;
  /** hidden units of the DIN attention MLP */
  attentionUnits: number[];
  /** tower hidden units (CM-DCM family, dnn) / per-task tower units after the experts (mmoe) */
  towerUnits: number[];
  /** PEPNet embedding gate + per-task hidden-layer gates */
  gating: boolean;
  /** hidden width of each gate MLP (Linear → ReLU → Linear → 2·sigmoid) */
  gateUnits: number;
  /**
   * with gating: the embedding gate (PEPNet's EPNet, scaling the input embeddings); the per-task
   * tower gates are always there. Off by default: see DEFAULTS_DOC.
   */
  gateEmbedding: boolean;
  /** with gating: the gates see stop-gradient(user embedding) besides the user statistics (default off) */
  gateUserEmbedding: boolean;
  /** learn the direct task with its own tower (else an intercept-only prior) */
  directTask: boolean;
  counterfactual: Counterfactual;
  /** the ATC propensity is floored here before inverting */
  propensityFloor: number;
  /** inverse-propensity weights are clipped to at most this */
  maxInverseWeight: number;
  lossWeights: LossWeights;
  /** mmoe: number of experts */
  experts: number;
  /** mmoe: hidden units of each expert */
  expertUnits: number[];
  /**
   * dense features enter raw ('none') or as sign(x)·log1p(|x|) ('log1p'); the sample builder
   * already log1p-scales its counts (src/data/samples.ts), hence 'none' by default
   */
  denseTransform: DenseTransform;
  /**
   * CM-DCM family: a non-cart tower p_n = P(delayed | click, no atc), so that
   * p_delayed = p_a·p_t + (1 − p_a)·p_n, trained with the entire-space BCE(p_delayed, delayed) on all
   * clicks besides ctcvr and the counterfactual term. Without it p_delayed = p_a·p_t models only
   * the carted path, while a large share of promotion-day buys have no cart before them.
   */
  nonCartPath: boolean;
  /**
   * standardize the dense features (after denseTransform) with train-split statistics: a column
   * that is constant on the train split (e.g. historical stats of the first promotion's samples)
   * would otherwise reach the network only at test time, through weights nothing trained
   */
  standardizeDense: boolean;
  /** the fitted statistics (set by `train` from the train split, stored with the run); null = not fit yet */
  denseStats: DenseStats | null;
  /**
   * Per-task dense columns: standardize on every train row, and zero for the delayed path
   * (transition / non-cart towers and their gates, dnn, mmoe) the columns that are constant on the
   * rows with a delayed label (`delayedDenseMask`, fit by train). The user-history columns then
   * reach the ATC / direct towers, trained on the target's own censored labels where history
   * varies, without untrained weights on the delayed path. Off: every tower gets the columns as
   * standardized on the fully labelled rows (history columns zeroed everywhere when a world has
   * one historical promotion).
   */
  perTaskDense: boolean;
  /** 1 = the delayed path sees the column (set by train with perTaskDense); null = all columns */
  delayedDenseMask: number[] | null;
  /** after training, fit a Platt calibration of p_delayed on held-out historical clicks (calibration.ts) */
  calibrateDelayed: boolean;
  /** the fitted calibration (set by `train`, stored with the run); null = none */
  delayedCalibration: DelayedCalibration | null;
}

/**
 * A partial model config as the library takes it: every key typed (a misspelt one does not
 * compile), loss weights partial too. Config files and flags arrive as JSON and are checked key by
 * key at run time (resolveModelConfig).
 */
export type ModelConfigInput = Partial<Omit<ModelConfig, 'lossWeights'>> & { lossWeights?: Partial<LossWeights> };

/**
 * The model table: every name's network family and what it sets over the common defaults. Every
 * place that depends on the model consults it: the architecture (model/index.ts, by family), the
 * defaults (defaultModelConfig), the loss terms (termsOf), the modeled tasks (modeledTasks).
 *  - 'cmdcm': shared input → (optional gates) → ATC, transition and optional direct towers;
 *    ESMM / ESCM2 are this network without gates and without the direct task.
 *  - 'dnn': one tower on the delayed label.  - 'mmoe': shared experts, a gate and a tower per task.
 */
export type ModelFamily = 'cmdcm' | 'dnn' | 'mmoe';

export const MODEL_TABLE: Record<ModelName, { family: ModelFamily; defaults: Partial<ModelConfig> }> = {
  'cmdcm': { family: 'cmdcm', defaults: { gating: true, directTask: true, counterfactual: 'ipw', nonCartPath: true } },
  'cmdcm-nogate': { family: 'cmdcm', defaults: { gating: false, directTask: true, counterfactual: 'ipw', nonCartPath: true } },
  'cmdcm-nocf': { family: 'cmdcm', defaults: { gating: true, directTask: true, counterfactual: 'none', nonCartPath: true } },
  'cmdcm-nodirect': { family: 'cmdcm', defaults: { gating: true, directTask: false, counterfactual: 'ipw', nonCartPath: true } },
  'esmm': { family: 'cmdcm', defaults: {} },
  'escm2-ipw': { family: 'cmdcm', defaults: { counterfactual: 'ipw' } },
  'escm2-dr': { family: 'cmdcm', defaults: { counterfactual: 'dr' } },
  'dnn': { family: 'dnn', defaults: {} },
  'mmoe': { family: 'mmoe', defaults: { directTask: true, towerUnits: [64] } },
};

export function isCmdcmFamily(name: ModelName): boolean {
  return MODEL_TABLE[name].family === 'cmdcm';
}

/** The loss terms of a configured model, in TERM_NAMES order. */
export function termsOf(c: Pick<ModelConfig, 'name' | 'nonCartPath' | 'counterfactual'>): TermName[] {
  const present = new Set<TermName>(['direct', 'atc']);
  if (MODEL_TABLE[c.name].family !== 'cmdcm') present.add('delayed');
  else {
    present.add('ctcvr');
    if (c.nonCartPath) present.add('delayed');
    if (c.counterfactual !== 'none') present.add('cf');
    if (c.counterfactual === 'dr') present.add('imp');
  }
  return TERM_NAMES.filter((t) => present.has(t));
}

/**
 * Which predictions a model actually makes. The others come from intercept-only priors (a
 * constant: DNN's direct and atc, direct of the CM-DCM family without a direct task), so reports
 * show them as priors instead of flagging a collapse.
 */
export function modeledTasks(c: Pick<ModelConfig, 'name' | 'directTask'>): PredictedTask[] {
  const family = MODEL_TABLE[c.name].family;
  if (family === 'dnn') return ['transition', 'delayed'];
  if (family === 'cmdcm' && !c.directTask) return ['atc', 'transition', 'delayed'];
  return [...PREDICTED_TASKS];
}

/** Human-readable table of the defaults (for README / `--help`). */
export const DEFAULTS_DOC: Record<keyof ModelConfig | string, string> = {
  dim: '16',
  seqPooling: "'din' (DIN target attention over the last L events; 'mean' = masked mean)",
  attentionUnits: '[36]',
  towerUnits: '[256, 128, 64]; mmoe: [64] (after the experts)',
  gating: 'true for cmdcm, cmdcm-nocf, cmdcm-nodirect; false otherwise',
  gateUnits: '64',
  gateEmbedding:
    'false. Measured on two generated worlds (seeds 1, 2; as-of protocol, 1 epoch): with the embedding gate and the user embedding as a gate input, ' +
    'cmdcm\'s validation delayed logloss was 0.0997 (mean of the two), with neither 0.0988: both let the gates fit per-user scalings of the whole input, which the held-out days do not reward',
  gateUserEmbedding: 'false (see gateEmbedding); the gates then see the user statistics only (the u_* dense columns)',
  directTask: 'true for cmdcm, cmdcm-nogate, cmdcm-nocf, mmoe; false otherwise (intercept-only prior)',
  counterfactual: "'ipw' for cmdcm, cmdcm-nogate, cmdcm-nodirect, escm2-ipw; 'dr' for escm2-dr; 'none' otherwise",
  propensityFloor: '1e-6',
  maxInverseWeight: '15 (PaddleRec escm2)',
  'lossWeights.direct': '1',
  'lossWeights.atc': '1',
  'lossWeights.ctcvr': '1',
  'lossWeights.cf': '0.1 (PaddleRec uses 0.01; see below)',
  'lossWeights.imp': '0.1',
  'lossWeights.delayed': '1',
  experts: '4 (mmoe)',
  expertUnits: '[256, 128] (mmoe)',
  denseTransform: "'none' (prepared datasets are already log1p-scaled)",
  nonCartPath:
    'true for cmdcm, cmdcm-nogate, cmdcm-nocf, cmdcm-nodirect; false for esmm, escm2-* (their published form); unsupported by dnn, mmoe. ' +
    'p_delayed = p_atc·p_transition + (1 − p_atc)·p_noncart with a gated non-cart tower and the entire-space BCE(p_delayed, delayed) (weight lossWeights.delayed); p_transition stays P(delayed | click, do(atc)). ' +
    'A quarter to two fifths of the promotion-day buys of clicked items have no cart before them (generated worlds of both generators), and p_atc·p_transition cannot rank those. ' +
    'Measured as-of (1 epoch, 2 seeds): validation delayed logloss on tuning world 1 0.0965 → 0.0849; test delayed AUC 0.657 → 0.694 (world 11), 0.786 → 0.801 (scripts/other-world.py seed 21), PCOC 1.10 → 1.03 and 1.05 → 1.00',
  standardizeDense:
    'true: (x − mean)/std per dense column, statistics of the train samples with every label available (delayed unmasked); a column constant on them → 0 (it could only act as an untrained or bias-trained input at test time)',
  denseStats: 'null; `train` fits it on the train split and stores it in the run config, so eval/predict/Predictor apply the same transform',
  perTaskDense:
    'true (see ModelConfig.perTaskDense). The validation split (the latest historical promotion) cannot show its effect: the columns it routes are constant there. ' +
    'Measured on the test window (as-of, 1 epoch, 2 seeds): cmdcm delayed AUC 0.694 → 0.706 on world 11 and 0.801 → 0.804 on other-world seed 21 (with nonCartPath); validation delayed logloss unchanged within 0.0002 (tuning worlds 1, 2)',
  delayedDenseMask: 'null; `train` fits it with perTaskDense',
  calibrateDelayed: 'true: after training, p_delayed is mapped through σ(a + b·logit(p)) fit on held-out historical clicks (the valid split, else the fully labelled train clicks); monotone, so rankings are unchanged',
  delayedCalibration: 'null; `train` fits it and stores it in the run config',
  outputBias: 'each task tower\'s output bias starts at the logit of its train-split base rate (masked mean; transition: P(delayed | atc), non-cart: P(delayed | no atc)), not at logit 0',
};

/**
 * Defaults per model name.
 *
 * Counterfactual weight 0.1 (not PaddleRec's 0.01): the IPW term averages atc·BCE/p_atc over all
 * clicks, i.e. it is about the size of the transition BCE on carted clicks; on datasets of our size
 * (10⁵ clicks, not Ali-CCP's 10⁸) 0.01 leaves it far below the noise of the other terms' gradients,
 * while 1.0 lets the clipped-weight variance dominate. `lossWeights.cf` overrides it.
 */
export function defaultModelConfig(name: ModelName): ModelConfig {
  if (!MODEL_NAMES.includes(name)) throw new CmdcmError(`unknown model '${name}'${didYouMean(name, MODEL_NAMES)} (expected one of ${MODEL_NAMES.join(', ')})`);
  const cfg: ModelConfig = {
    name,
    dim: 16,
    seqPooling: 'din',
    attentionUnits: [36],
    towerUnits: [256, 128, 64],
    gating: false,
    gateUnits: 64,
    gateEmbedding: false,
    gateUserEmbedding: false,
    directTask: false,
    counterfactual: 'none',
    propensityFloor: 1e-6,
    maxInverseWeight: 15,
    lossWeights: { direct: 1, atc: 1, ctcvr: 1, cf: 0.1, imp: 0.1, delayed: 1 },
    experts: 4,
    expertUnits: [256, 128],
    denseTransform: 'none',
    nonCartPath: false,
    standardizeDense: true,
    denseStats: null,
    perTaskDense: true,
    delayedDenseMask: null,
    calibrateDelayed: true,
    delayedCalibration: null,
  };
  return { ...cfg, ...structuredClone(MODEL_TABLE[name].defaults), name };
}

type Check = (v: unknown) => string | undefined;
const posInt: Check = (v) => (typeof v === 'number' && Number.isInteger(v) && v >= 1 ? undefined : 'a positive integer');
const units: Check = (v) =>
  Array.isArray(v) && v.length >= 1 && v.every((u) => posInt(u) === undefined) ? undefined : 'a non-empty array of positive integers';
const bool: Check = (v) => (typeof v === 'boolean' ? undefined : 'true or false');
const oneOf = (...xs: string[]): Check => (v) => (typeof v === 'string' && xs.includes(v) ? undefined : `one of ${xs.map((x) => `'${x}'`).join(', ')}`);
const nonNeg: Check = (v) => (typeof v === 'number' && Number.isFinite(v) && v >= 0 ? undefined : 'a finite number >= 0');
const prob: Check = (v) => (typeof v === 'number' && v > 0 && v < 1 ? undefined : 'a number in (0, 1)');
const denseStats: Check = (v) => {
  if (v === null) return undefined;
  const ok = (a: unknown, min: number) => Array.isArray(a) && a.every((x) => typeof x === 'number' && Number.isFinite(x) && x >= min);
  if (typeof v !== 'object' || Array.isArray(v)) return 'null or { "mean": [...], "std": [...] }';
  const o = v as Record<string, unknown>;
  if (!ok(o.mean, -Infinity) || !ok(o.std, 0) || (o.mean as unknown[]).length !== (o.std as unknown[]).length || Object.keys(o).some((k) => k !== 'mean' && k !== 'std')) {
    return 'null or { "mean": [finite numbers], "std": [finite numbers >= 0] } of equal length';
  }
  return undefined;
};
const atLeastOne: Check = (v) => (typeof v === 'number' && Number.isFinite(v) && v >= 1 ? undefined : 'a finite number >= 1');

const CHECKS: Record<Exclude<keyof ModelConfig, 'lossWeights'>, Check> = {
  name: oneOf(...MODEL_NAMES),
  dim: posInt,
  seqPooling: oneOf('din', 'mean'),
  attentionUnits: units,
  towerUnits: units,
  gating: bool,
  gateUnits: posInt,
  gateEmbedding: bool,
  gateUserEmbedding: bool,
  directTask: bool,
  counterfactual: oneOf('ipw', 'dr', 'none'),
  propensityFloor: prob,
  maxInverseWeight: atLeastOne,
  experts: posInt,
  expertUnits: units,
  denseTransform: oneOf('log1p', 'none'),
  nonCartPath: bool,
  standardizeDense: bool,
  denseStats,
  perTaskDense: bool,
  delayedDenseMask: (v) => (v === null || (Array.isArray(v) && v.every((x) => x === 0 || x === 1)) ? undefined : 'null or an array of 0 and 1'),
  calibrateDelayed: bool,
  delayedCalibration: (v) => {
    if (v === null) return undefined;
    const o = v as Record<string, unknown>;
    const fin = (x: unknown) => typeof x === 'number' && Number.isFinite(x);
    return typeof v === 'object' && !Array.isArray(v) && fin(o.a) && fin(o.b) && fin(o.n) && Object.keys(o).every((k) => k === 'a' || k === 'b' || k === 'n') ? undefined : 'null or { "a": number, "b": number, "n": number }';
  },
};
const WEIGHT_KEYS: (keyof LossWeights)[] = ['direct', 'atc', 'ctcvr', 'cf', 'imp', 'delayed'];

/**
 * Validate a parsed JSON config (a partial ModelConfig) and merge it over the defaults of its model.
 * `source` names where it came from (a path, or a flag) for the error messages; `name` (e.g. from
 * `--model`) wins over the file's "name" when given.
 */
export function resolveModelConfig(json: unknown, source: string, name?: ModelName): ModelConfig {
  if (json === undefined || json === null) json = {};
  if (typeof json !== 'object' || Array.isArray(json)) throw new CmdcmError(`${source}: a model config must be a JSON object`);
  const obj = json as Record<string, unknown>;
  const chosen = name ?? obj.name;
  if (chosen === undefined) throw new CmdcmError(`${source}: no model name (give "name" or --model)`);
  const nameErr = CHECKS.name(chosen);
  if (nameErr) throw new CmdcmError(`${source}: "name" must be ${nameErr}, got ${JSON.stringify(chosen)}`);
  const cfg = defaultModelConfig(chosen as ModelName);
  for (const [k, v] of Object.entries(obj)) {
    // undefined = not given (partial configs assembled from optional CLI flags)
    if (k === 'name' || v === undefined) continue;
    if (k === 'lossWeights') {
      if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new CmdcmError(`${source}: "lossWeights" must be an object`);
      for (const [wk, wv] of Object.entries(v as Record<string, unknown>)) {
        if (wv === undefined) continue;
        if (!WEIGHT_KEYS.includes(wk as keyof LossWeights)) throw new CmdcmError(`${source}: unknown key "lossWeights.${wk}" (expected ${WEIGHT_KEYS.join(', ')})`);
        const err = nonNeg(wv);
        if (err) throw new CmdcmError(`${source}: "lossWeights.${wk}" must be ${err}, got ${JSON.stringify(wv)}`);
        cfg.lossWeights[wk as keyof LossWeights] = wv as number;
      }
      continue;
    }
    const check = CHECKS[k as keyof typeof CHECKS];
    if (!check) throw new CmdcmError(`${source}: unknown key "${k}" (expected ${['name', ...Object.keys(CHECKS).filter((x) => x !== 'name'), 'lossWeights'].join(', ')})`);
    const err = check(v);
    if (err) throw new CmdcmError(`${source}: "${k}" must be ${err}, got ${JSON.stringify(v)}`);
    (cfg as unknown as Record<string, unknown>)[k] = Array.isArray(v) ? [...v] : k === 'denseStats' && v !== null ? { mean: [...(v as DenseStats).mean], std: [...(v as DenseStats).std] } : k === 'delayedCalibration' && v !== null ? { ...(v as DelayedCalibration) } : v;
  }
  if (!isCmdcmFamily(cfg.name)) {
    const def = defaultModelConfig(cfg.name);
    for (const k of ['gating', 'directTask', 'counterfactual', 'nonCartPath'] as const) {
      if (cfg[k] !== def[k]) throw new CmdcmError(`${source}: "${k}" = ${JSON.stringify(cfg[k])} is not supported by model '${cfg.name}' (only ${JSON.stringify(def[k])})`);
    }
  }
  return cfg;
}

/** Read a JSON model config file; a syntax error names the file, line and column. */
export function loadModelConfigFile(path: string, name?: ModelName): ModelConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new CmdcmError(`${path}: cannot read model config (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  return resolveModelConfig(parseJsonWithLocation(text, path), path, name);
}

export function parseJsonWithLocation(text: string, path: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    const msg = (e as Error).message;
    const m = /position (\d+)/.exec(msg);
    if (m) {
      const pos = Number(m[1]);
      const before = text.slice(0, pos);
      const line = before.split('\n').length;
      const col = pos - before.lastIndexOf('\n');
      throw new CmdcmError(`${path}:${line}:${col}: invalid JSON (${msg})`);
    }
    throw new CmdcmError(`${path}: invalid JSON (${msg})`);
  }
}
