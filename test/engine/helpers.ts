import * as tf from '@tensorflow/tfjs-core';
import assert from 'node:assert/strict';
import { useEngine } from '../../src/engine/index.js';
import { startKernelTrace, stopKernelTrace, type KernelTrace } from '../../src/engine/native/util.js';

/**
 * The engine these tests compare with cpu: 'native', or 'cuda' when test/engine/cuda/*.test.ts
 * imports them with CMDCM_TEST_ENGINE=cuda (on the CPU shim device in CI, on the GPU in
 * bench/device-check.sh). Its kernels record into the same trace as the native ones.
 */
export const ENGINE = (process.env.CMDCM_TEST_ENGINE ?? 'native') as 'native' | 'cuda';

/** Deterministic pseudo-random floats in [lo, hi). */
export function rand(n: number, seed: number, lo = -1, hi = 1): Float32Array {
  let s = seed >>> 0 || 1;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0;
    out[i] = lo + ((s >>> 0) / 4294967296) * (hi - lo);
  }
  return out;
}

/**
 * Runs `f` on the pure-JS 'cpu' backend (the oracle) and on 'native', returning both results as
 * host arrays with their shapes and dtypes, and the native run's kernel trace: which of the native
 * backend's own kernels ran and which fell back to tfjs's CPU kernel.
 */
export async function onBoth(f: () => tf.Tensor | tf.Tensor[]): Promise<{ cpu: tf.Tensor[]; native: tf.Tensor[]; trace: KernelTrace }> {
  const run = async (engine: 'cpu' | 'native' | 'cuda') => {
    await useEngine(engine);
    const r = tf.tidy(f);
    const list = Array.isArray(r) ? r : [r];
    // Move results off the backend so switching backends cannot lose them.
    const out = list.map((t) => tf.tensor(t.dataSync().slice(), t.shape, t.dtype));
    tf.dispose(list);
    return out;
  };
  const cpu = await run('cpu');
  startKernelTrace();
  let native: tf.Tensor[], trace: KernelTrace;
  try {
    native = await run(ENGINE);
  } finally {
    trace = stopKernelTrace()!;
  }
  return { cpu, native, trace };
}

export function assertClose(actual: tf.Tensor, expected: tf.Tensor, rtol = 1e-5, atol = 1e-6, what = ''): void {
  assert.deepEqual(actual.shape, expected.shape, `${what}: shape`);
  assert.equal(actual.dtype, expected.dtype, `${what}: dtype`);
  const a = actual.dataSync(), e = expected.dataSync();
  for (let i = 0; i < e.length; i++) {
    const x = Number(a[i]), y = Number(e[i]);
    if (Number.isNaN(y)) { assert.ok(Number.isNaN(x), `${what}[${i}]: expected NaN, got ${x}`); continue; }
    if (!Number.isFinite(y)) { assert.equal(x, y, `${what}[${i}]`); continue; }
    assert.ok(Math.abs(x - y) <= atol + rtol * Math.abs(y), `${what}[${i}]: native ${x} vs cpu ${y}`);
  }
}

/**
 * `f` on native equals `f` on cpu, and the native run went through the native backend's own
 * kernels: at least one ran (all of `kernels` when given), and none handed its call to tfjs's CPU
 * kernel unless `fallback` allows it (a kernel that quietly fell back would compare cpu with cpu).
 */
export async function checkBoth(f: () => tf.Tensor | tf.Tensor[], rtol = 1e-5, atol = 1e-6, what = '',
  opts: { kernels?: string[]; fallback?: boolean } = {}): Promise<void> {
  const { cpu, native, trace } = await onBoth(f);
  assert.equal(native.length, cpu.length);
  native.forEach((t, i) => assertClose(t, cpu[i], rtol, atol, `${what}#${i}`));
  assert.ok(trace.native.size > 0, `${what}: no native kernel ran`);
  for (const k of opts.kernels ?? []) assert.ok(trace.native.has(k), `${what}: the native ${k} kernel did not run (ran: ${[...trace.native.keys()].join(', ')})`);
  if (!opts.fallback) assert.deepEqual([...trace.fallback.keys()], [], `${what}: native kernels fell back to tfjs's CPU kernels`);
}
