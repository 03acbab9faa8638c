import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { SampleColumns, Schema } from '../data/batch.js';
import { columnWidths, copiedColumns } from '../data/batch.js';
import { createModel } from '../model/index.js';
import type { Model, Predictions } from '../model/types.js';
import { useEngine, type EngineName } from '../engine/index.js';
import { CmdcmError } from '../util/errors.js';
import { CKPT_BEST, loadLastGoodCheckpoint, readCheckpoint, type Checkpoint } from './checkpoint.js';
import { checkCheckpointFor } from './validate.js';
import { predictColumns, predictColumnsAsync } from './columns.js';
import { readRunConfig, type RunConfig } from './run-dir.js';

export interface PredictorOptions {
  engine?: EngineName;
  /** 'best' (default): the parameters with the best validation logloss when the run has them, else the last checkpoint */
  checkpoint?: 'best' | 'latest';
  /** samples per forward pass */
  batchSize?: number;
  /** evaluate/predict entry points: stop with an AbortError within one forward pass */
  signal?: AbortSignal;
  /** evaluate/predict entry points: called after each forward pass with samples done and total */
  onProgress?: (done: number, total: number) => void;
}

/**
 * A trained run loaded once for repeated prediction (a server loop): `predict(columns)` on batches
 * of SampleColumns built with the run's schema. Holds the parameters in memory; no I/O per call.
 */
export class Predictor {
  private constructor(
    readonly runDir: string,
    readonly config: RunConfig,
    readonly model: Model,
    readonly params: Float32Array,
    readonly table: Float32Array,
    /** step of the loaded parameters */
    readonly step: number,
    readonly batchSize: number,
  ) {}

  get schema(): Schema {
    return this.config.schema;
  }

  static async load(runDir: string, opts: PredictorOptions = {}): Promise<Predictor> {
    const rc = readRunConfig(runDir);
    await useEngine(opts.engine ?? 'auto');
    const model = createModel(rc.modelConfig, rc.schema);
    const batchSize = opts.batchSize ?? rc.train.evalBatchSize;
    if (!Number.isInteger(batchSize) || batchSize < 1) throw new CmdcmError(`predict batch size must be a positive integer, got ${batchSize}`);
    const use = (ck: Checkpoint, path: string) => checkCheckpointFor(ck, path, {
      model: rc.model, schemaFingerprint: rc.schemaFingerprint, params: model.layout.total, dim: model.dim, tableRows: rc.schema.tableRows,
    });
    const bestPath = join(runDir, CKPT_BEST);
    let got: { ck: Checkpoint; path: string } | undefined;
    if ((opts.checkpoint ?? 'best') === 'best' && existsSync(bestPath)) {
      const ck = await readCheckpoint(bestPath);
      use(ck, bestPath);
      got = { ck, path: bestPath };
    } else got = await loadLastGoodCheckpoint(runDir, use, { quarantine: false });
    if (!got) throw new CmdcmError(`${runDir}: the run has no checkpoint yet (train it first)`);
    const { params, table, step } = got.ck.state;
    return new Predictor(runDir, rc, model, params, table, step, batchSize);
  }

  /** Probabilities for every sample of `cols` (any size; split into forward passes of batchSize). */
  predict(cols: SampleColumns): Predictions {
    this.checkColumns(cols);
    return predictColumns(this.model, this.params, this.table, this.schema, cols, this.batchSize);
  }

  private checkColumns(cols: SampleColumns): void {
    const w = columnWidths(this.schema);
    for (const name of copiedColumns(cols)) {
      const need = cols.n * w[name];
      if ((cols[name] as ArrayLike<number>).length < need) {
        throw new CmdcmError(`predict: column '${name}' holds ${(cols[name] as ArrayLike<number>).length} values, ${cols.n} samples of this run's schema need ${need}`);
      }
    }
  }

  /**
   * `predict` in forward passes of batchSize with the caller's event loop turning between them (a
   * service keeps answering while a large batch is scored); AbortError within one pass of `signal`.
   */
  async predictAsync(cols: SampleColumns, opts: { signal?: AbortSignal; onProgress?: (done: number, total: number) => void } = {}): Promise<Predictions> {
    this.checkColumns(cols);
    return predictColumnsAsync(this.model, this.params, this.table, this.schema, cols, this.batchSize, opts);
  }
}
