import { loadAddon, type AddonFunctions } from '../../native.js';

/** The addon functions of the cuda engine (native/cuda/cuda.cc). */
export type CudaAddon = Pick<AddonFunctions, 'cudaProbe' | 'cudaOpen' | 'cudaClose' | 'cudaInfo' | 'cudaAlloc' | 'cudaFree' | 'cudaUpload'
  | 'cudaDownload' | 'cudaCopy' | 'cudaCompile' | 'cudaLoadModule' | 'cudaFunction' | 'cudaLaunch' | 'cudaGemm' | 'cudaSync'
  | 'cudaReleaseCached' | 'cudaIndexRange' | 'matmul'>;

const REQUIRED: (keyof CudaAddon)[] = ['cudaProbe', 'cudaOpen', 'cudaAlloc', 'cudaLaunch', 'cudaGemm', 'cudaUpload', 'cudaDownload'];

/** The cuda engine's addon functions, or undefined when the addon is missing or predates the engine. */
export function cudaAddon(): CudaAddon | undefined {
  const a = loadAddon();
  if (!a || !REQUIRED.every((f) => typeof a[f] === 'function')) return undefined;
  return a as CudaAddon;
}
