import { loadAddon, type AddonFunctions } from '../../native.js';

/** The addon functions the native engine's kernels call (native/engine/*.cc). */
export type EngineAddon = Pick<AddonFunctions, 'matmul' | 'gemmInfo' | 'setGemm' | 'binary' | 'unary' | 'select' | 'reduce' | 'softmax' | 'gather'
  | 'segmentSum' | 'transpose' | 'slice' | 'pad' | 'tile' | 'adamDense' | 'lazyAdamRows' | 'adagradRows'>;

const REQUIRED: (keyof EngineAddon)[] = ['matmul', 'binary', 'unary', 'reduce', 'gather', 'segmentSum', 'transpose', 'slice', 'pad', 'tile', 'adamDense'];

/** The engine's addon functions, or undefined when the addon is missing or predates the engine. */
export function engineAddon(): EngineAddon | undefined {
  const a = loadAddon();
  if (!a || !REQUIRED.every((f) => typeof a[f] === 'function')) return undefined;
  return a as EngineAddon;
}

let bound: EngineAddon | undefined;

/** Called once by the backend registration; the kernels then reach the addon without lookups. */
export function bindAddon(a: EngineAddon): void {
  bound = a;
}

export function addon(): EngineAddon {
  if (!bound) throw new Error('native engine kernels ran before the addon was bound');
  return bound;
}
