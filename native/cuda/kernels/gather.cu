// Embedding lookups and their gradient.
#include "common.cuh"

// ptr: x, indices (int32), out. x viewed as [outer, N, inner], out as [outer, nIdx, inner];
// i[0] N, i[1] inner, i[2] nIdx. An index outside [0, N) gives zeros (the host checks indices it
// knows before the launch, as the CPU kernel does).
CM_KERNEL cm_gather(KParams p) {
  const int* x = CM_I(0);
  const int* ids = CM_I(1);
  int* o = CM_I(2);
  const long long N = p.i[0], inner = p.i[1], nIdx = p.i[2];
  CM_FOR(idx, p.n) {
    const long long j = idx % inner, rest = idx / inner, k = rest % nIdx, q = rest / nIdx;
    const long long r = ids[k];
    o[idx] = r >= 0 && r < N ? x[(q * N + r) * inner + j] : 0;
  }
}

// ptr: x, ids (int32), out (zeroed by the caller). out[ids[k], j] += x[k, j]; ids outside
// [0, numSegments) contribute nothing, as in tfjs. i[0] numSegments, i[1] inner. n = ids × inner.
CM_KERNEL cm_segment_sum(KParams p) {
  const float* x = CM_F(0);
  const int* ids = CM_I(1);
  float* o = CM_F(2);
  const long long S = p.i[0], inner = p.i[1];
  CM_FOR(idx, p.n) {
    const long long k = idx / inner, j = idx % inner;
    const long long s = ids[k];
    if (s >= 0 && s < S) cm_atomic_add(o + s * inner + j, x[idx]);
  }
}
