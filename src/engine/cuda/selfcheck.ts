import * as tf from '@tensorflow/tfjs-core';

/**
 * A once-per-process check of the active backend against plain JavaScript arithmetic: a small
 * dense layer (GEMM + broadcast bias + sigmoid), a row sum, a softmax and a gather, the kernel
 * families every model step runs. The cuda engine runs it when it starts, so that a GPU whose
 * kernels or cuBLAS compute wrongly (a driver, an NVRTC build, an architecture nobody here has run)
 * is refused with a message instead of training on garbage.
 *
 * Returns '' when every value is within `tol` of the oracle, else what differs.
 */
export function backendSelfCheckProblem(tol = 1e-4): string {
  const M = 5, K = 7, N = 3;
  const a = Float32Array.from({ length: M * K }, (_, i) => Math.sin(0.7 * i + 0.3) * 0.8);
  const b = Float32Array.from({ length: K * N }, (_, i) => Math.cos(0.4 * i + 0.1) * 0.6);
  const bias = Float32Array.from([0.25, -0.5, 0.125]);
  const idx = [4, 0, 2];
  const got = tf.tidy(() => {
    const y = tf.sigmoid(tf.add(tf.matMul(tf.tensor2d(a, [M, K]), tf.tensor2d(b, [K, N])), tf.tensor1d(bias)));
    return {
      y: y.dataSync() as Float32Array,
      rowSum: tf.sum(y, 1).dataSync() as Float32Array,
      softmax: tf.softmax(y).dataSync() as Float32Array,
      gather: tf.gather(y, tf.tensor1d(idx, 'int32')).dataSync() as Float32Array,
    };
  });
  // the same in float64
  const y = new Float64Array(M * N);
  for (let i = 0; i < M; i++) {
    for (let j = 0; j < N; j++) {
      let s = bias[j];
      for (let k = 0; k < K; k++) s += a[i * K + k] * b[k * N + j];
      y[i * N + j] = 1 / (1 + Math.exp(-s));
    }
  }
  const rowSum = Array.from({ length: M }, (_, i) => y[i * N] + y[i * N + 1] + y[i * N + 2]);
  const softmax = new Float64Array(M * N);
  for (let i = 0; i < M; i++) {
    const m = Math.max(y[i * N], y[i * N + 1], y[i * N + 2]);
    let z = 0;
    for (let j = 0; j < N; j++) z += Math.exp(y[i * N + j] - m);
    for (let j = 0; j < N; j++) softmax[i * N + j] = Math.exp(y[i * N + j] - m) / z;
  }
  const gather = idx.flatMap((r) => Array.from(y.subarray(r * N, r * N + N)));
  const want: Record<keyof typeof got, ArrayLike<number>> = { y, rowSum, softmax, gather };
  for (const k of Object.keys(want) as (keyof typeof got)[]) {
    const g = got[k], w = want[k];
    if (g.length !== w.length) return `${k}: ${g.length} values where ${w.length} were expected`;
    for (let i = 0; i < w.length; i++) {
      if (!(Math.abs(g[i] - w[i]) <= tol)) return `${k}[${i}] = ${g[i]} where ${w[i].toPrecision(7)} was expected`;
    }
  }
  return '';
}
