import * as tf from '@tensorflow/tfjs-core';
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { useEngine } from '../../src/engine/index.js';
import { engineAddon } from '../../src/engine/native/addon.js';
import { allocF32, clearPool, poolStats, setPoolMinCap } from '../../src/engine/native/pool.js';

process.env.CMDCM_LOG_LEVEL = 'silent';

const skip = engineAddon() ? false : 'native addon not built';
const MB = 1 << 20;
const N = MB / 4; // floats in 1 MB

/** k tensors whose values are pool arrays of 1 MB each, as kernel outputs are. */
function pooledTensors(k: number): { ts: tf.Tensor[]; arrays: Float32Array[] } {
  const arrays = Array.from({ length: k }, () => allocF32(N));
  return { arrays, ts: arrays.map((a) => tf.tensor1d(a)) };
}

test('pool: a step\'s arrays all come back even when they exceed the smallest cap, and are reused', { skip }, async () => {
  await useEngine('native');
  clearPool();
  setPoolMinCap(1 * MB);
  try {
    const first = pooledTensors(4);
    const during = poolStats();
    assert.equal(during.capBytes, 6 * MB, 'the cap is 1.5× the peak of arrays handed out');
    for (const t of first.ts) t.dispose();
    assert.equal(poolStats().pooledBytes, 4 * MB, 'all four went back to the pool (a fixed 1 MB cap kept one)');
    const again = Array.from({ length: 4 }, () => allocF32(N));
    assert.deepEqual(new Set(again), new Set(first.arrays), 'the same four arrays are handed out again');
    assert.equal(poolStats().pooledBytes, 0);
    // an array read out with dataSync has escaped: never recycled, no longer counted as handed out
    const t = tf.tensor1d(again[0]);
    const out = poolStats().outBytes;
    t.dataSync();
    assert.equal(poolStats().outBytes, out - 4 * N);
    t.dispose();
    assert.equal(poolStats().pooledBytes, 0, 'an escaped array is not pooled');
    for (const a of again.slice(1)) tf.tensor1d(a).dispose();
    assert.equal(poolStats().pooledBytes, 3 * MB);
  } finally {
    setPoolMinCap(512 * MB);
    clearPool();
  }
});

test('pool: clearPool drops the pooled arrays and the remembered peak', { skip }, async () => {
  await useEngine('native');
  clearPool();
  setPoolMinCap(1 * MB);
  try {
    const base = poolStats().outBytes;
    const { ts } = pooledTensors(3);
    for (const t of ts) t.dispose();
    assert.equal(poolStats().pooledBytes, 3 * MB);
    clearPool();
    const s = poolStats();
    assert.equal(s.pooledBytes, 0);
    assert.equal(s.outBytes, base);
    assert.equal(s.capBytes, Math.max(1 * MB, 1.5 * base), 'the cap falls back to what is handed out now');
    // arrays of sizes no longer asked for are kept only up to the cap: a stale 1 MB array and one of
    // another size exceed 1.5× what was ever handed out at once, so the second goes to the collector
    const a = tf.tensor1d(allocF32(N));
    a.dispose();
    assert.equal(poolStats().pooledBytes, 1 * MB);
    const b = tf.tensor1d(allocF32(N + N / 2 + 4));
    assert.equal(poolStats().capBytes, Math.max(1 * MB, 1.5 * (base + 1.5 * MB + 16)), 'the cap is 1.5× the peak handed out');
    b.dispose();
    assert.equal(poolStats().pooledBytes, 1 * MB, 'the second array was not pooled');
  } finally {
    setPoolMinCap(512 * MB);
    clearPool();
  }
});
