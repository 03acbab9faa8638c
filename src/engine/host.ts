import * as tf from '@tensorflow/tfjs-core';
import './tf-setup.js'; // the cpu backend and tfjs's gradients (cmdcm depends on tfjs-core, not the full tfjs)
import { allocF32 } from './native/pool.js';

/**
 * Host arrays that become tensors, and reads of tensors the caller copies at once, in the form
 * that lets the native engine's pool (native/pool.ts) recycle them. Each training step turns
 * megabytes of host data into tensors (parameter views, inputs) and reads gradients back; fresh
 * arrays for those cost page faults and drive the garbage collector, whose background threads then
 * compete with the other data-parallel workers for the cores. On other engines these are plain
 * allocations and dataSync.
 */

/** A Float32Array of n elements (stale contents) to fill and hand to tf.tensor, which takes it over. */
export function hostF32(n: number): Float32Array {
  return allocF32(n);
}

interface ValuesStore { data: { get(id: object): { values?: unknown } | undefined } }

/**
 * A float32 tensor's values, valid only until the tensor is disposed: the caller copies them out
 * at once. On the native and cpu engines this is the backend's own array, read without marking it
 * as escaped, so it goes back to the pool when the tensor is disposed.
 */
export function peekF32(t: tf.Tensor): Float32Array {
  const name = tf.getBackend();
  if (name === 'native' || name === 'cpu') {
    const v = (tf.backend() as unknown as ValuesStore).data.get(t.dataId)?.values;
    if (v instanceof Float32Array && v.length === t.size) return v;
  }
  return t.dataSync() as Float32Array;
}
