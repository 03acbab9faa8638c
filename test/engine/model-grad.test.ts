import assert from 'node:assert/strict';
import { test } from 'node:test';
import { benchBatch, benchSchema } from '../../bench/drivers/step.js';
import { useEngine } from '../../src/engine/index.js';
import { startKernelTrace, stopKernelTrace, type KernelTrace } from '../../src/engine/native/util.js';
import { engineAddon } from '../../src/engine/native/addon.js';
import { createModel, defaultModelConfig } from '../../src/model/index.js';
import { MODEL_NAMES, type GradResult } from '../../src/model/types.js';
import { ENGINE, rand } from './helpers.js';

process.env.CMDCM_LOG_LEVEL = 'silent';

const skip = engineAddon() ? false : 'native addon not built';

/** max |a - b| over max |b|: relative to the gradient's scale, so near-zero entries do not dominate. */
function relErr(a: Float32Array, b: Float32Array, floor = 0): number {
  let d = 0, s = floor;
  for (let i = 0; i < b.length; i++) {
    d = Math.max(d, Math.abs(a[i] - b[i]));
    s = Math.max(s, Math.abs(b[i]));
  }
  return s === 0 ? d : d / s;
}
const maxAbs = (a: Float32Array) => a.reduce((m, x) => Math.max(m, Math.abs(x)), 0);

test('full-model gradients on native equal those on cpu within 1e-4, for every model', { skip }, async () => {
  const schema = benchSchema(4000, 12);
  const batch = benchBatch(schema, 48, 7);
  for (const name of MODEL_NAMES) {
    const model = createModel(defaultModelConfig(name), schema);
    const params = model.initParams(3);
    const table = rand(schema.tableRows * model.dim, 11, -0.05, 0.05);
    const res: Record<string, GradResult> = {};
    let trace: KernelTrace | null = null;
    for (const engine of ['cpu', ENGINE] as const) {
      await useEngine(engine);
      if (engine === ENGINE) startKernelTrace();
      try {
        res[engine] = model.grad(params, table, batch);
      } finally {
        if (engine === ENGINE) trace = stopKernelTrace();
      }
    }
    // the native run went through the addon's kernels, not quietly through tfjs's CPU ones
    assert.ok((trace!.native.get('BatchMatMul') ?? 0) + (trace!.native.get('_FusedMatMul') ?? 0) > 0, `${name}: no native MatMul ran`);
    assert.deepEqual([...trace!.fallback.keys()], [], `${name}: native kernels fell back to tfjs's CPU kernels`);
    const { cpu } = res, native = res[ENGINE];
    assert.ok(Math.abs(native.loss - cpu.loss) <= 1e-5 * Math.abs(cpu.loss), `${name}: loss ${native.loss} vs ${cpu.loss}`);
    assert.deepEqual([...native.rows], [...cpu.rows], `${name}: rows`);
    const dense = relErr(native.denseGrad, cpu.denseGrad), rows = relErr(native.rowGrad, cpu.rowGrad);
    assert.ok(dense < 1e-4, `${name}: dense gradient rel err ${dense}`);
    assert.ok(rows < 1e-4, `${name}: row gradient rel err ${rows}`);
    // and per parameter tensor, so a small tensor's error is not hidden by a large one's scale; a
    // tensor whose exact gradient is 0 (the DIN output bias: softmax ignores a shift) holds only
    // rounding noise, measured against 1e-3 of the whole gradient's scale instead.
    const floor = 1e-3 * maxAbs(cpu.denseGrad);
    model.layout.specs.forEach((s, i) => {
      const off = model.layout.offsets[i], n = s.shape.reduce((a, b) => a * b, 1);
      const e = relErr(native.denseGrad.subarray(off, off + n), cpu.denseGrad.subarray(off, off + n), floor);
      assert.ok(e < 1e-4, `${name}: ${s.name} gradient rel err ${e}`);
    });
  }
});
