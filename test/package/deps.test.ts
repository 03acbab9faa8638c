import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '../../src/engine/index.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

function tsFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((e) => {
    const p = join(dir, e);
    return statSync(p).isDirectory() ? tsFiles(p) : p.endsWith('.ts') ? [p] : [];
  });
}

test('no source imports the full @tensorflow/tfjs package (cmdcm depends on tfjs-core + tfjs-backend-cpu)', () => {
  const offenders = ['src', 'test', 'bench', 'examples'].flatMap((d) => tsFiles(join(root, d)))
    .filter((f) => /from '@tensorflow\/tfjs'|import\('@tensorflow\/tfjs'\)|import '@tensorflow\/tfjs'/.test(readFileSync(f, 'utf8')));
  assert.deepEqual(offenders, []);
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
  assert.equal(pkg.dependencies['@tensorflow/tfjs'], undefined);
  assert.equal(pkg.dependencies['node-gyp'], undefined, 'node-gyp is a build tool: npm supplies it to install scripts');
  // exact versions: tfjs-node(-gpu), an optional peer, must share this one tfjs-core copy
  assert.equal(pkg.dependencies['@tensorflow/tfjs-core'], pkg.dependencies['@tensorflow/tfjs-backend-cpu']);
  assert.match(pkg.dependencies['@tensorflow/tfjs-core'], /^\d+\.\d+\.\d+$/);
});

test("tfjs's gradients are registered for the kernels the models differentiate through", () => {
  for (const k of ['Add', 'BatchMatMul', 'Cast', 'ClipByValue', 'Concat', 'Exp', 'ExpandDims', 'GatherV2', 'Log1p', 'Maximum', 'Minimum',
    'Multiply', 'Neg', 'Pack', 'RealDiv', 'Relu', 'Reshape', 'Sigmoid', 'Slice', 'Softmax', 'Softplus', 'SplitV', 'Square', 'Sub', 'Sum',
    'Tile', 'Unpack', 'Mean', 'Transpose', 'Select', 'Log', 'Sqrt', 'Tanh', 'PadV2', 'Max', 'UnsortedSegmentSum']) {
    assert.ok(tf.getGradient(k), `no gradient for ${k}`);
  }
  // and they compute: d/dx sum(sigmoid(x) * x) = s + x s (1 - s)
  const x = tf.tensor1d([-1, 0, 2]);
  const g = tf.grad((v: tf.Tensor) => tf.sum(tf.mul(tf.sigmoid(v), v)))(x).dataSync();
  [-1, 0, 2].forEach((v, i) => {
    const s = 1 / (1 + Math.exp(-v));
    assert.ok(Math.abs(g[i] - (s + v * s * (1 - s))) < 1e-6);
  });
});

test('the generated gradient module matches the installed tfjs-core version', () => {
  const gen = readFileSync(join(root, 'src', 'engine', 'core-gradients.ts'), 'utf8');
  const core = JSON.parse(readFileSync(join(root, 'node_modules', '@tensorflow', 'tfjs-core', 'package.json'), 'utf8'));
  assert.match(gen, new RegExp(`@tensorflow/tfjs-core ${core.version.replace(/\./g, '\\.')} `), 'rerun node scripts/gen-core-gradients.cjs');
});
