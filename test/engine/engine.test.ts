import * as tf from '@tensorflow/tfjs-core';
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { gemmInfo, installedTensorflowPackage, useEngine } from '../../src/engine/index.js';
import { engineAddon } from '../../src/engine/native/addon.js';
import { optimKernels, tsOptim } from '../../src/engine/optim.js';
import { CmdcmError } from '../../src/util/errors.js';

process.env.CMDCM_LOG_LEVEL = 'silent';
process.env.CMDCM_QUIET = '1';

const skip = engineAddon() ? false : 'native addon not built';

test("useEngine('tensorflow') without tfjs-node says what to install", { skip: installedTensorflowPackage() ? 'tfjs-node is installed' : false }, async () => {
  await assert.rejects(useEngine('tensorflow'), (e: unknown) => {
    assert.ok(e instanceof CmdcmError);
    assert.match(e.message, /npm install @tensorflow\/tfjs-node-gpu/);
    assert.match(e.message, /npm install @tensorflow\/tfjs-node\b/);
    return true;
  });
});

test("useEngine('native') selects the native backend, whose optimizer kernels are the addon's; 'cpu' the TS ones", { skip }, async () => {
  assert.equal(await useEngine('native'), 'native');
  assert.equal(tf.getBackend(), 'native');
  assert.equal(optimKernels('native').backend, 'addon');
  assert.equal(optimKernels('auto').backend, 'addon');
  assert.match(gemmInfo()!.gemm, /^(openblas|in-tree-)/);
  assert.equal(await useEngine('cpu'), 'cpu');
  assert.equal(tf.getBackend(), 'cpu');
  assert.equal(optimKernels('cpu'), tsOptim);
});

test("useEngine('auto') without a GPU picks native", { skip }, async () => {
  const saved = process.env.CUDA_VISIBLE_DEVICES;
  process.env.CUDA_VISIBLE_DEVICES = '';
  try {
    assert.equal(await useEngine('auto'), 'native');
  } finally {
    if (saved === undefined) delete process.env.CUDA_VISIBLE_DEVICES;
    else process.env.CUDA_VISIBLE_DEVICES = saved;
  }
});

test('unknown engine name is a CmdcmError', async () => {
  await assert.rejects(useEngine('gpu' as never), (e: unknown) => e instanceof CmdcmError && /unknown engine 'gpu'/.test(e.message));
});

test('the native engine loads and computes in a worker thread', { skip }, async () => {
  const url = new URL('../../src/engine/index.js', import.meta.url).href;
  const tfUrl = pathToFileURL(createRequire(import.meta.url).resolve('@tensorflow/tfjs-core')).href;
  const src = `
    import { parentPort } from 'node:worker_threads';
    const { useEngine } = await import(${JSON.stringify(url)});
    const tf = await import(${JSON.stringify(tfUrl)});
    const e = await useEngine('native');
    const y = tf.matMul(tf.tensor2d([[1, 2], [3, 4]]), tf.tensor2d([[5], [6]]));
    parentPort.postMessage({ e, backend: tf.getBackend(), y: Array.from(y.dataSync()) });
  `;
  const w = new Worker(new URL(`data:text/javascript,${encodeURIComponent(src)}`), { env: { ...process.env } });
  const msg = await new Promise<{ e: string; backend: string; y: number[] }>((resolve, reject) => {
    w.once('message', resolve);
    w.once('error', reject);
  });
  await w.terminate();
  assert.deepEqual(msg, { e: 'native', backend: 'native', y: [17, 39] });
});

test('recycled output buffers never corrupt an array handed out by dataSync', { skip }, async () => {
  await useEngine('native');
  const a = tf.fill([64, 64], 2);
  const t = tf.mul(a, 3);
  const v = t.dataSync();
  t.dispose();
  // Same-sized outputs that would reuse t's buffer if it had been recycled.
  const others = Array.from({ length: 4 }, () => tf.add(a, 100));
  assert.ok(v.every((x) => x === 6));
  tf.dispose([a, ...others]);
});
