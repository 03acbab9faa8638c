import * as tf from '@tensorflow/tfjs';

/**
 * Engine selection (DESIGN.md "Compute engines"). An engine is a tfjs backend.
 * PLACEHOLDER until the native engine lands: 'native' and 'auto' fall back to 'cpu'.
 */
export type EngineName = 'native' | 'cpu' | 'tensorflow' | 'auto';

export async function useEngine(name: EngineName = 'auto'): Promise<string> {
  await tf.setBackend('cpu');
  await tf.ready();
  return name === 'auto' ? 'cpu' : name;
}
