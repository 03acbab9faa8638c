import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { useEngine } from '../../../src/engine/index.js';
import { cudaAddon } from '../../../src/engine/cuda/addon.js';
import { backendSelfCheckProblem } from '../../../src/engine/cuda/selfcheck.js';

/**
 * The cuda engine's start-up self-check: it passes where the kernels are right (cpu, the cuda
 * backend on the CPU shim) and names the first wrong value where a kernel is not.
 */
process.env.CMDCM_LOG_LEVEL = 'silent';
const skip = cudaAddon() ? false : 'native addon not built';

test('the self-check passes on cpu and on the cuda backend (CPU shim)', { skip }, async () => {
  await useEngine('cpu');
  assert.equal(backendSelfCheckProblem(), '');
  const saved = process.env.CMDCM_CUDA_DEVICE;
  process.env.CMDCM_CUDA_DEVICE = 'shim';
  try {
    assert.equal(await useEngine('cuda'), 'cuda');
    assert.equal(backendSelfCheckProblem(), '');
  } finally {
    if (saved === undefined) delete process.env.CMDCM_CUDA_DEVICE;
    else process.env.CMDCM_CUDA_DEVICE = saved;
    await useEngine('cpu');
  }
});

test('a wrong kernel fails the self-check, which names the value', async () => {
  await useEngine('cpu');
  const sigmoid = tf.getKernel('Sigmoid', 'cpu')!;
  tf.unregisterKernel('Sigmoid', 'cpu');
  // a Sigmoid that returns its input
  tf.registerKernel({ kernelName: 'Sigmoid', backendName: 'cpu', kernelFunc: ({ inputs, backend }) => {
    const x = inputs.x as tf.TensorInfo;
    return (backend as unknown as { makeTensorInfo(s: number[], d: string, v: Float32Array): tf.TensorInfo })
      .makeTensorInfo(x.shape, 'float32', Float32Array.from((backend as unknown as { readSync(id: unknown): Float32Array }).readSync(x.dataId)));
  } });
  try {
    assert.match(backendSelfCheckProblem(), /^y\[0\] = -?[0-9.e-]+ where 0\.\d+ was expected$/);
  } finally {
    tf.unregisterKernel('Sigmoid', 'cpu');
    tf.registerKernel(sigmoid);
  }
  assert.equal(backendSelfCheckProblem(), '');
});
