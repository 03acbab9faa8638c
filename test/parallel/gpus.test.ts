import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assignGpus, parseGpuList, parseNvidiaSmi, visibleGpus } from '../../src/parallel/gpus.js';
import { resolveTransport } from '../../src/parallel/runner.js';
import { CmdcmError } from '../../src/util/errors.js';

test('one GPU per worker process, in list order', () => {
  assert.deepEqual(assignGpus(2, ['0', '1'], 'process').perWorker, ['0', '1']);
  assert.deepEqual(assignGpus(3, ['2', '5', '7'], 'process').perWorker, ['2', '5', '7']);
  assert.equal(assignGpus(2, ['0', '1'], 'process').note, undefined);
});

test('more workers than GPUs share round-robin, fewer leave GPUs idle (with a note)', () => {
  const more = assignGpus(5, ['0', '1'], 'process');
  assert.deepEqual(more.perWorker, ['0', '1', '0', '1', '0']);
  assert.match(more.note!, /share GPUs/);
  const fewer = assignGpus(1, ['0', '1', '2'], 'process');
  assert.deepEqual(fewer.perWorker, ['0']);
  assert.match(fewer.note!, /GPUs 1,2 stay idle/);
});

test('no GPUs: inherit, or hide devices from a GPU build; threads never get an assignment', () => {
  assert.deepEqual(assignGpus(2, [], 'process').perWorker, [undefined, undefined]);
  assert.deepEqual(assignGpus(2, [], 'process', true).perWorker, ['', '']);
  const th = assignGpus(2, ['0', '1'], 'thread');
  assert.deepEqual(th.perWorker, [undefined, undefined]);
  assert.match(th.note!, /--transport process/);
  assert.throws(() => assignGpus(0, ['0'], 'process'));
});

test('--gpus parsing names the flag on mistakes', () => {
  assert.deepEqual(parseGpuList('0,1, 3'), ['0', '1', '3']);
  assert.deepEqual(parseGpuList('GPU-8a1b2c3d-0000-1111-2222-333344445555'), ['GPU-8a1b2c3d-0000-1111-2222-333344445555']);
  for (const bad of ['', '0,,1', 'x', '0,0', '-1']) {
    assert.throws(() => parseGpuList(bad), (e: unknown) => e instanceof CmdcmError && /^--gpus: /.test(e.message), bad);
  }
});

test('detection: CUDA_VISIBLE_DEVICES narrows, else nvidia-smi output, else none', () => {
  assert.deepEqual(parseNvidiaSmi('0\n1\n\n2\r\n'), ['0', '1', '2']);
  assert.deepEqual(parseNvidiaSmi('NVIDIA-SMI has failed because it couldn\'t communicate with the NVIDIA driver.'), []);
  assert.deepEqual(visibleGpus({ CUDA_VISIBLE_DEVICES: '2,3' }, '0\n1\n2\n3\n'), ['2', '3']);
  assert.deepEqual(visibleGpus({ CUDA_VISIBLE_DEVICES: '' }, '0\n1\n'), []);
  assert.deepEqual(visibleGpus({ CUDA_VISIBLE_DEVICES: '1,-1,2' }, undefined), ['1']);
  assert.deepEqual(visibleGpus({}, '0\n1\n'), ['0', '1']);
  assert.deepEqual(visibleGpus({}, undefined), []);
});

test('transport defaults: processes for tensorflow, threads otherwise; threads refuse tensorflow', () => {
  assert.equal(resolveTransport('tensorflow', undefined), 'process');
  assert.equal(resolveTransport('native', undefined), 'thread');
  assert.equal(resolveTransport('cuda', undefined), 'process');
  assert.equal(resolveTransport('cuda', 'thread'), 'thread');
  assert.equal(resolveTransport('cpu', 'process'), 'process');
  assert.throws(() => resolveTransport('tensorflow', 'thread'), /tfjs#8388/);
  assert.throws(() => resolveTransport('cpu', 'mpi' as never), /--transport/);
});
