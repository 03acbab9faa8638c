import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { optimKernels, useEngine } from '../../../src/engine/index.js';
import { cudaAddon } from '../../../src/engine/cuda/addon.js';
import { cacheDir, cacheKey, deviceKindFromEnv, gpuProblem, kernelSource, loadKernels, type CudaDevice } from '../../../src/engine/cuda/device.js';
import { CmdcmError } from '../../../src/util/errors.js';

/**
 * The cuda engine's loader: on a machine without the NVIDIA driver (CI, this one) `--engine cuda`
 * fails with one line saying what is missing and what to do; the kernel sources reach NVRTC whole
 * and every kernel in them exists in the CPU shim; compiled kernels are cached on disk by source
 * and GPU architecture.
 */
process.env.CMDCM_LOG_LEVEL = 'silent';
const a = cudaAddon();
const skip = a ? false : 'native addon not built';
const gpu = a ? a.cudaProbe().ok : false;
const noGpu = !a ? 'native addon not built' : gpu ? 'this machine has a usable GPU' : false;
const root = fileURLToPath(new URL('../../../../', import.meta.url));

test('without the NVIDIA driver, the probe names libcuda.so.1 and what to do', { skip: noGpu }, () => {
  const why = gpuProblem();
  assert.match(why, /libcuda\.so\.1/);
  assert.match(why, /install it, or put the directory holding libcuda\.so\.1 on LD_LIBRARY_PATH/);
  assert.equal(a!.cudaProbe().devices, 0);
});

test("useEngine('cuda') without a GPU is a one-line CmdcmError naming the missing library", { skip: noGpu }, async () => {
  const saved = process.env.CMDCM_CUDA_DEVICE;
  delete process.env.CMDCM_CUDA_DEVICE;
  try {
    await assert.rejects(useEngine('cuda'), (e: unknown) => {
      assert.ok(e instanceof CmdcmError, String(e));
      assert.doesNotMatch(e.message, /\n/);
      assert.match(e.message, /^engine 'cuda' cannot use a GPU: cannot load the NVIDIA driver library libcuda\.so\.1/);
      assert.match(e.message, /or pick --engine native/);
      return true;
    });
    // and 'auto' keeps to native
    assert.equal(await useEngine('auto'), 'native');
  } finally {
    if (saved !== undefined) process.env.CMDCM_CUDA_DEVICE = saved;
  }
});

test('cmdcm bench step --engine cuda without a GPU: exit 1 and that one line', { skip: noGpu }, () => {
  const env = { ...process.env };
  delete env.CMDCM_CUDA_DEVICE;
  const r = spawnSync(process.execPath, [join(root, 'bin', 'cmdcm.js'), 'bench', 'step', '--engine', 'cuda', '--batch', '8', '--rows', '1000', '--steps', '1', '--warmup', '0'],
    { env, encoding: 'utf8', timeout: 60_000 });
  assert.equal(r.status, 1, r.stderr);
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines.length, 1, r.stderr);
  assert.match(lines[0], /engine 'cuda' cannot use a GPU: cannot load the NVIDIA driver library libcuda\.so\.1/);
});

test("the kernel sources ship with the package (files: native), and the cuda engine's optimizers are the addon's host kernels", () => {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { files: string[] };
  assert.ok(pkg.files.includes('native'), 'package.json files must include native/ (native/cuda/kernels/*.cu reach NVRTC at run time)');
  if (a) assert.equal(optimKernels('cuda').backend, 'addon');
});

test('CMDCM_CUDA_DEVICE picks the device kind and refuses anything else', () => {
  assert.equal(deviceKindFromEnv({}), 'gpu');
  assert.equal(deviceKindFromEnv({ CMDCM_CUDA_DEVICE: 'shim' }), 'shim');
  assert.throws(() => deviceKindFromEnv({ CMDCM_CUDA_DEVICE: 'tpu' }), (e: unknown) => e instanceof CmdcmError && /expected gpu or shim, got 'tpu'/.test(e.message));
});

test('the NVRTC program holds every kernel of native/cuda/kernels, and the CPU shim has each one', { skip }, () => {
  const src = kernelSource();
  assert.doesNotMatch(src, /#include "common\.cuh"/);
  assert.match(src, /struct KParams/);
  const names = [...src.matchAll(/CM_KERNEL (\w+)\(KParams p\)/g)].map((m) => m[1]);
  assert.ok(names.length >= 15, names.join());
  const dev = a!.cudaOpen('shim', 0);
  try {
    for (const n of names) assert.ok(a!.cudaFunction(dev, n) >= 0, n);
    assert.throws(() => a!.cudaFunction(dev, 'cm_nonexistent'), /the CPU shim has no kernel cm_nonexistent/);
  } finally {
    a!.cudaClose(dev);
  }
});

test("the NVRTC program's GPU branch (__CUDACC__) is valid C++14 (checked with the host compiler and a stand-in for CUDA's built-ins)", () => {
  const cxx = ['c++', 'g++', 'clang++'].find((c) => spawnSync(c, ['--version']).status === 0);
  if (!cxx) return;
  const dir = mkdtempSync(join(tmpdir(), 'cmdcm-nvrtc-syntax-'));
  try {
    const mock = ['#define __CUDACC__ 1', '#define __global__', '#define __device__', '#define __forceinline__ inline', '#include <math.h>',
      'struct uint3 { unsigned x, y, z; };', 'extern uint3 threadIdx, blockIdx, blockDim, gridDim;', 'float __int_as_float(int);',
      'float atomicAdd(float*, float);', ''].join('\n');
    writeFileSync(join(dir, 'k.cu'), mock + kernelSource());
    const r = spawnSync(cxx, ['-std=c++14', '-fsyntax-only', '-Wall', '-Werror', '-x', 'c++', join(dir, 'k.cu')], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('compiled kernels are cached by source and GPU architecture; a second load skips NVRTC', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cmdcm-cuda-cache-'));
  const saved = process.env.CMDCM_CUDA_CACHE;
  process.env.CMDCM_CUDA_CACHE = dir;
  try {
    assert.equal(cacheDir(), dir);
    assert.equal(cacheDir({ XDG_CACHE_HOME: '/x' }), join('/x', 'cmdcm', 'cuda'));
    assert.notEqual(cacheKey('src', 9, 0, 'libnvrtc.so.13'), cacheKey('src', 8, 0, 'libnvrtc.so.13'));
    assert.notEqual(cacheKey('src', 9, 0, 'libnvrtc.so.13'), cacheKey('src2', 9, 0, 'libnvrtc.so.13'));
    assert.notEqual(cacheKey('src', 9, 0, 'libnvrtc.so.13'), cacheKey('src', 9, 0, 'libnvrtc.so.12'));
    // a stand-in GPU device: what loadKernels calls of the addon, recorded
    let compiles = 0;
    const loaded: number[] = [];
    const fake = {
      handle: 7,
      info: () => ({ major: 9, minor: 0, nvrtc: 'libnvrtc.so.13' }),
      a: {
        cudaCompile: (src: string, major: number, minor: number) => {
          compiles++;
          assert.equal(`${major}.${minor}`, '9.0');
          assert.equal(src, 'the source');
          return { image: Uint8Array.of(1, 2, 3), kind: 'cubin' };
        },
        cudaLoadModule: (h: number, image: Uint8Array) => {
          assert.equal(h, 7);
          loaded.push(image.length);
        },
      },
    } as unknown as CudaDevice;
    assert.equal(loadKernels(fake, 'the source'), 'nvrtc');
    assert.equal(loadKernels(fake, 'the source'), 'cache');
    assert.equal(compiles, 1);
    assert.deepEqual(loaded, [3, 3]);
    assert.deepEqual(readdirSync(dir), [`${cacheKey('the source', 9, 0, 'libnvrtc.so.13')}.bin`]);
  } finally {
    if (saved === undefined) delete process.env.CMDCM_CUDA_CACHE;
    else process.env.CMDCM_CUDA_CACHE = saved;
    rmSync(dir, { recursive: true, force: true });
  }
});
