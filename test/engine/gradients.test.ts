import * as tf from '@tensorflow/tfjs-core';
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { GRADIENT_OVERRIDES, registerGradientOverrides } from '../../src/engine/gradients.js';
import { useEngine } from '../../src/engine/index.js';
import { engineAddon } from '../../src/engine/native/addon.js';
import { firstOrderGradients } from '../../src/engine/tape.js';
import { mulberry32 } from '../../src/util/rng.js';

process.env.CMDCM_LOG_LEVEL = 'silent';
process.env.CMDCM_QUIET = '1';

// tfjs's own configs, captured before anything in this process registers the overrides
const ORIGINAL = new Map(GRADIENT_OVERRIDES.map((g) => [g.kernelName, tf.getGradient(g.kernelName)!]));

function rand(shape: number[], seed: number): tf.Tensor {
  const r = mulberry32(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  return tf.tensor(Float32Array.from({ length: n }, () => r() * 2 - 1), shape);
}

/**
 * A function of (a, b) that runs every overridden kernel, with broadcasting both ways and
 * reductions over inner, outer and all axes; returns d/da and d/db of a weighted scalar.
 */
function grads(): Float32Array[] {
  return tf.tidy(() => {
    const a = rand([3, 4, 5], 1), b = rand([4, 1], 2), w = rand([3, 5], 3);
    const f = (x: tf.Tensor, y: tf.Tensor) => {
      const p = tf.relu(tf.mul(x, y)); // 3×4×5 · 4×1
      const s1 = tf.sum(p, 1); // 3×5
      const s2 = tf.mean(tf.mul(p, p), [0, 2]); // 4
      const s3 = tf.sum(tf.mul(s1, w)); // all axes
      return tf.add(tf.add(s3, tf.sum(tf.mul(s2, tf.reshape(y, [4])))), tf.mean(p));
    };
    const g = tf.grads(f)([a, b]);
    return g.map((t) => t.dataSync() as Float32Array).map((v) => v.slice());
  });
}

function withGradConfigs<T>(configs: Iterable<tf.GradConfig>, fn: () => T): T {
  for (const c of configs) tf.registerGradient(c);
  return fn();
}

for (const engine of ['cpu', 'native'] as const) {
  test(`${engine}: the overridden Sum/Mean/Multiply/Relu gradients equal tfjs's own exactly`, { skip: engine === 'native' && !engineAddon() ? 'native addon not built' : false }, async () => {
    await useEngine(engine);
    const theirs = withGradConfigs(ORIGINAL.values(), grads);
    const ours = withGradConfigs(GRADIENT_OVERRIDES, grads);
    assert.equal(ours.length, 2);
    ours.forEach((g, i) => assert.deepEqual(Array.from(g), Array.from(theirs[i])));
    assert.ok(theirs[0].some((v) => v !== 0) && theirs[1].some((v) => v !== 0), 'gradients are not all zero');
    registerGradientOverrides();
  });

  test(`${engine}: firstOrderGradients gives the same gradients, fewer kernel calls, no leaked tensors, and restores the engine`, { skip: engine === 'native' && !engineAddon() ? 'native addon not built' : false }, async () => {
    await useEngine(engine);
    const counting = <T>(fn: () => T): [T, number] => {
      let calls = 0;
      const eng = tf.engine() as unknown as { runKernel: (...a: unknown[]) => unknown };
      const run = eng.runKernel;
      eng.runKernel = (...a: unknown[]) => { calls++; return run.apply(eng, a); };
      try {
        return [fn(), calls];
      } finally {
        eng.runKernel = run;
      }
    };
    const before = tf.memory().numTensors;
    const [plain, plainCalls] = counting(grads);
    const [lean, leanCalls] = counting(() => firstOrderGradients(grads));
    assert.equal(tf.memory().numTensors, before);
    lean.forEach((g, i) => assert.deepEqual(Array.from(g), Array.from(plain[i])));
    assert.ok(leanCalls < plainCalls, `${leanCalls} kernel calls with lean saves vs ${plainCalls}`);
    assert.equal(Object.prototype.hasOwnProperty.call(tf.engine(), 'clone'), false);
    // a throw inside restores it too
    assert.throws(() => firstOrderGradients(() => { throw new Error('boom'); }), /boom/);
    assert.equal(Object.prototype.hasOwnProperty.call(tf.engine(), 'clone'), false);
  });
}
