import * as tf from '@tensorflow/tfjs-core';
import '../tf-setup.js'; // the cpu backend and tfjs's gradients (cmdcm depends on tfjs-core, not the full tfjs)
import type { KernelConfig, KernelFunc } from '@tensorflow/tfjs-core';
import { bindAddon, type EngineAddon } from './addon.js';
import { addNConfig } from './kernels/AddN.js';
import { batchMatMulConfig } from './kernels/BatchMatMul.js';
import { binaryConfigs } from './kernels/binary.js';
import { concatConfig } from './kernels/Concat.js';
import { fusedMatMulConfig } from './kernels/FusedMatMul.js';
import { gatherV2Config } from './kernels/GatherV2.js';
import { padV2Config } from './kernels/PadV2.js';
import { reduceConfigs } from './kernels/reduce.js';
import { selectConfig } from './kernels/Select.js';
import { sliceConfig } from './kernels/Slice.js';
import { softmaxConfig } from './kernels/Softmax.js';
import { splitVConfig } from './kernels/SplitV.js';
import { tileConfig } from './kernels/Tile.js';
import { transposeConfig } from './kernels/Transpose.js';
import { unaryConfigs } from './kernels/unary.js';
import { unsortedSegmentSumConfig } from './kernels/UnsortedSegmentSum.js';
import { traceNative } from './util.js';

/** The kernels the addon replaces; every other kernel of the 'native' backend is the CPU one. */
export const NATIVE_KERNELS: KernelConfig[] = [
  batchMatMulConfig, fusedMatMulConfig, ...binaryConfigs, ...unaryConfigs, addNConfig, ...reduceConfigs, softmaxConfig,
  selectConfig, gatherV2Config, unsortedSegmentSumConfig, transposeConfig, sliceConfig, tileConfig, concatConfig, splitVConfig, padV2Config,
];

/** Per-kernel wall time (ms) and call counts while profiling is on (`cmdcm bench step --profile`). */
export interface KernelProfile {
  ms: Map<string, number>;
  calls: Map<string, number>;
}
let profile: KernelProfile | null = null;

export function startKernelProfile(): KernelProfile {
  profile = { ms: new Map(), calls: new Map() };
  return profile;
}
/** The profile being recorded, if any (the cuda backend records into it too). */
export function activeKernelProfile(): KernelProfile | null {
  return profile;
}
export function stopKernelProfile(): KernelProfile | null {
  const p = profile;
  profile = null;
  return p;
}

function timed(name: string, f: KernelFunc, own = false): KernelFunc {
  return ((args: Parameters<KernelFunc>[0]) => {
    if (own) traceNative(name);
    if (!profile) return f(args);
    const t0 = performance.now();
    const r = f(args);
    const dt = performance.now() - t0;
    profile.ms.set(name, (profile.ms.get(name) ?? 0) + dt);
    profile.calls.set(name, (profile.calls.get(name) ?? 0) + 1);
    return r;
  }) as KernelFunc;
}

let registered = false;

/**
 * Registers the 'native' backend once per thread (each worker has its own tfjs and addon): a
 * MathBackendCPU, so tensors live in its typed-array store that the addon reads and writes in
 * place, with every CPU kernel registered for it and the hot ones replaced by addon kernels.
 */
export function registerNativeBackend(a: EngineAddon): void {
  if (registered) return;
  bindAddon(a);
  const cpuFactory = tf.findBackendFactory('cpu');
  if (!cpuFactory) throw new Error('tfjs cpu backend is not registered');
  tf.registerBackend('native', cpuFactory, 1);
  const replaced = new Set(NATIVE_KERNELS.map((k) => k.kernelName));
  for (const k of tf.getKernelsForBackend('cpu')) {
    if (replaced.has(k.kernelName)) continue;
    tf.registerKernel({ ...k, backendName: 'native', kernelFunc: timed(k.kernelName, k.kernelFunc) });
  }
  for (const k of NATIVE_KERNELS) tf.registerKernel({ ...k, kernelFunc: timed(k.kernelName, k.kernelFunc, true) });
  registered = true;
}
