import * as tf from '@tensorflow/tfjs-core';
import './tf-setup.js'; // the cpu backend and tfjs's gradients (cmdcm depends on tfjs-core, not the full tfjs)
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { CmdcmError } from '../util/errors.js';
import { warnOnce } from '../util/log.js';
import { engineAddon, type EngineAddon } from './native/addon.js';
import { registerGradientOverrides } from './gradients.js';
import { registerNativeBackend } from './native/backend.js';
import { installPool } from './native/pool.js';
import { registerCudaBackend, cudaDevice } from './cuda/backend.js';
import { deviceKindFromEnv, gpuProblem, openDevice } from './cuda/device.js';
import { backendSelfCheckProblem } from './cuda/selfcheck.js';

export { startKernelProfile, stopKernelProfile, type KernelProfile } from './native/backend.js';
export { optimKernels, tsOptim, type OptimKernels, type AdamHyper, type AdagradHyper, type TableOptimizer } from './optim.js';

/**
 * Engine selection (DESIGN.md "Compute engines"). An engine is a tfjs backend:
 * - 'native': tfjs's CPU backend with its hot kernels in the C++ addon (src/engine/native/);
 * - 'cpu': pure tfjs, the slow reference;
 * - 'tensorflow': @tensorflow/tfjs-node-gpu or @tensorflow/tfjs-node, when the user installed one;
 * - 'cuda': cmdcm's own GPU backend (src/engine/cuda/: libcuda, NVRTC and cuBLAS opened at run time;
 *   CMDCM_CUDA_DEVICE=shim runs it on the CPU shim, for tests);
 * - 'auto': cuda where a GPU is usable, else tensorflow on a GPU host that has it, else native, else
 *   cpu with a warning.
 * Callable in every worker thread: each thread has its own tfjs and loads its own addon instance.
 */
export { ENGINE_NAMES, type EngineName } from './names.js';
import { ENGINE_NAMES, type EngineName } from './names.js';

const TF_PACKAGES = ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node'] as const;

/** The tfjs-node package resolvable from here, without loading it (loading it costs seconds). */
export function installedTensorflowPackage(): string | undefined {
  const req = createRequire(import.meta.url);
  for (const p of TF_PACKAGES) {
    try {
      req.resolve(p);
      return p;
    } catch { /* not installed */ }
  }
  return undefined;
}

/** Whether this host has an NVIDIA GPU that TensorFlow could use. */
export function gpuPresent(): boolean {
  const cvd = process.env.CUDA_VISIBLE_DEVICES;
  if (cvd !== undefined) return cvd.trim() !== '' && cvd.trim() !== '-1';
  try {
    return /GPU \d+:/.test(execFileSync('nvidia-smi', ['-L'], { stdio: ['ignore', 'pipe', 'ignore'], timeout: 5000 }).toString());
  } catch {
    return false;
  }
}

/** The addon's GEMM in use (for `cmdcm bench`), or undefined without the addon. */
export function gemmInfo(): ReturnType<EngineAddon['gemmInfo']> | undefined {
  return engineAddon()?.gemmInfo();
}

async function useNative(): Promise<string> {
  const a = engineAddon();
  if (!a) {
    throw new CmdcmError("engine 'native' needs the cmdcm C++ addon, which is not built or failed to load " +
      '(run `npm rebuild cmdcm`, or pick --engine cpu)');
  }
  registerNativeBackend(a);
  if (!(await tf.setBackend('native'))) throw new CmdcmError("engine 'native': tfjs could not initialize the backend");
  await tf.ready();
  // CMDCM_NO_POOL=1 turns output-buffer recycling off (to rule it out when chasing a bug).
  if (process.env.CMDCM_NO_POOL !== '1') installPool(tf.backend());
  return 'native';
}

async function useCpu(): Promise<string> {
  await tf.setBackend('cpu');
  await tf.ready();
  return 'cpu';
}

async function useTensorflow(): Promise<string> {
  let lastErr: unknown;
  for (const p of TF_PACKAGES) {
    try {
      await import(p);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') continue;
      lastErr = e;
      continue;
    }
    if (await tf.setBackend('tensorflow')) {
      await tf.ready();
      return 'tensorflow';
    }
  }
  if (lastErr) {
    throw new CmdcmError(`engine 'tensorflow': @tensorflow/tfjs-node(-gpu) is installed but failed to load: ${(lastErr as Error).message}`, { cause: lastErr });
  }
  throw new CmdcmError("engine 'tensorflow' needs TensorFlow for Node, which is not installed: run " +
    '`npm install @tensorflow/tfjs-node-gpu` (NVIDIA GPU with CUDA) or `npm install @tensorflow/tfjs-node` (CPU), ' +
    'or pick --engine native');
}

let cudaChecked = false;

async function useCuda(): Promise<string> {
  if (!cudaDevice()) registerCudaBackend(openDevice(deviceKindFromEnv()));
  if (!(await tf.setBackend('cuda'))) throw new CmdcmError("engine 'cuda': tfjs could not initialize the backend");
  await tf.ready();
  // once per process: the GPU path has kernels and libraries no CI machine runs, so its results are
  // checked against plain arithmetic before anything trains on them
  if (!cudaChecked) {
    const problem = backendSelfCheckProblem();
    if (problem) {
      throw new CmdcmError(`engine 'cuda': its self-check on this ${cudaDevice()?.kind === 'gpu' ? 'GPU' : 'device'} computed ${problem}; ` +
        'please report it with `cmdcm bench step --engine cuda --profile` output (pick --engine native meanwhile)');
    }
    cudaChecked = true;
  }
  return 'cuda';
}

/** Selects the compute engine for this thread; returns the engine actually in use. */
export async function useEngine(name: EngineName = 'auto'): Promise<'native' | 'cpu' | 'tensorflow' | 'cuda'> {
  // PROD silences tfjs's console banners (e.g. "looks like you are running TensorFlow.js in
  // Node.js" from the cpu backend, which our native engine extends); it changes no numerics.
  tf.env().set('PROD', true);
  registerGradientOverrides();
  switch (name) {
    case 'native': return (await useNative()) as 'native';
    case 'cpu': return (await useCpu()) as 'cpu';
    case 'tensorflow': return (await useTensorflow()) as 'tensorflow';
    case 'cuda': return (await useCuda()) as 'cuda';
    case 'auto': {
      if (cudaDevice() || (deviceKindFromEnv() === 'gpu' && gpuProblem() === '')) {
        try {
          return (await useCuda()) as 'cuda';
        } catch (e) {
          warnOnce('engine-cuda', `engine 'auto': the GPU is not usable by the cuda engine, trying the others: ${(e as Error).message}`);
        }
      }
      if (installedTensorflowPackage() && gpuPresent()) {
        try {
          return (await useTensorflow()) as 'tensorflow';
        } catch (e) {
          warnOnce('engine-tf', `engine 'auto': TensorFlow failed to load, trying native: ${(e as Error).message}`);
        }
      }
      if (engineAddon()) return (await useNative()) as 'native';
      // loadAddon() has already said, once per process, that the addon is missing, what it costs and how to fix it
      return (await useCpu()) as 'cpu';
    }
    default:
      throw new CmdcmError(`unknown engine '${String(name)}' (expected one of ${ENGINE_NAMES.join(', ')})`);
  }
}
