import * as tf from '@tensorflow/tfjs-core';

/**
 * tfjs keeps each tensor a gradient function needs by cloning it through the Identity kernel,
 * recorded on the tape so that a *higher-order* gradient can flow through the saved copy. A
 * first-order gradient never uses that tape node, yet each clone pays a kernel call and a tape
 * entry: about 360 of the ~1150 kernel calls of a CM-DCM step, plus the Casts their backward adds.
 *
 * Inside `firstOrderGradients(fn)` a saved tensor is a second reference to the same data (the
 * backend's refcount + 1, exactly what the Identity kernel does) without the kernel call or the tape
 * node. Only for the backends whose refcounting we know (native, cpu, and cuda: backend.ts);
 * elsewhere `fn` runs unchanged. Nothing inside `fn` may take a higher-order gradient.
 */
interface EngineInternals {
  clone(x: tf.Tensor): tf.Tensor;
  makeTensorFromTensorInfo(info: { dataId: object; shape: number[]; dtype: tf.DataType }): tf.Tensor;
  backend: { incRef(dataId: object): void };
}

function leanClone(this: EngineInternals, x: tf.Tensor): tf.Tensor {
  this.backend.incRef(x.dataId);
  return this.makeTensorFromTensorInfo({ dataId: x.dataId, shape: x.shape, dtype: x.dtype });
}

export function firstOrderGradients<T>(fn: () => T): T {
  const name = tf.getBackend();
  if (name !== 'native' && name !== 'cpu' && name !== 'cuda') return fn();
  const eng = tf.engine() as unknown as EngineInternals;
  // an own property shadows the prototype's clone for the duration of fn
  const had = Object.prototype.hasOwnProperty.call(eng, 'clone');
  const prev = eng.clone;
  eng.clone = leanClone;
  try {
    return fn();
  } finally {
    if (had) eng.clone = prev;
    else delete (eng as Partial<EngineInternals>).clone;
  }
}
