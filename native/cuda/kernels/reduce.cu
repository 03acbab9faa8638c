// Reductions over the middle axis of x viewed as [outer, R, inner], one thread per output value
// (no shared memory, so the shim runs them as they are). A long R is cut into chunks by a first
// pass (i[4] chunk length > 0: out is [outer, chunks, inner] of partials) and finished by a second.
#include "common.cuh"

// ptr: x, out. i[0] op (0 sum, 1 mean, 2 max, 3 min, 4 prod), i[1] outer, i[2] R, i[3] inner,
// i[4] chunk length (0: no chunks), i[5] chunks; f[0] the mean's divisor (the full R).
CM_KERNEL cm_reduce(KParams p) {
  const float* x = CM_F(0);
  float* o = CM_F(1);
  const int op = p.i[0];
  const long long R = p.i[2], inner = p.i[3];
  const long long chunk = p.i[4] > 0 ? p.i[4] : R, chunks = p.i[4] > 0 ? p.i[5] : 1;
  CM_FOR(idx, p.n) {
    const long long j = idx % inner, rest = idx / inner, c = rest % chunks, q = rest / chunks;
    const long long r0 = c * chunk, r1 = r0 + chunk < R ? r0 + chunk : R;
    const float* xp = x + q * R * inner + j;
    float acc;
    if (op == 0 || op == 1) {
      acc = 0.f;
      for (long long r = r0; r < r1; r++) acc += xp[r * inner];
      if (op == 1) acc = acc / p.f[0];
    } else if (op == 2 || op == 3) {
      acc = xp[r0 * inner];
      for (long long r = r0 + 1; r < r1 && acc == acc; r++) {
        const float v = xp[r * inner];
        if (v != v || (op == 2 ? v > acc : v < acc)) acc = v;
      }
    } else {
      acc = 1.f;
      for (long long r = r0; r < r1; r++) acc *= xp[r * inner];
    }
    o[idx] = acc;
  }
}

// ptr: x, out (int32). ArgMax (i[0] = 0) or ArgMin (1) over R of [outer, R, inner]: the first
// index of the extreme value, as tfjs's CPU kernel (which skips NaN comparisons the same way).
CM_KERNEL cm_argminmax(KParams p) {
  const float* x = CM_F(0);
  const long long R = p.i[2], inner = p.i[3];
  const int isMin = p.i[0];
  CM_FOR(idx, p.n) {
    const long long j = idx % inner, q = idx / inner;
    const float* xp = x + q * R * inner + j;
    float best = xp[0];
    int at = 0;
    for (long long r = 1; r < R; r++) {
      const float v = xp[r * inner];
      if (isMin ? v < best : v > best) { best = v; at = (int)r; }
    }
    CM_I(1)[idx] = at;
  }
}

// ptr: x, out. Softmax over rows of length i[1] (i[0] rows), one thread per row.
CM_KERNEL cm_softmax(KParams p) {
  const long long cols = p.i[1];
  CM_FOR(row, p.n) {
    const float* x = CM_F(0) + row * cols;
    float* o = CM_F(1) + row * cols;
    float m = x[0];
    for (long long j = 1; j < cols; j++) m = x[j] > m ? x[j] : m;
    float s = 0.f;
    for (long long j = 0; j < cols; j++) {
      const float e = expf(x[j] - m);
      o[j] = e;
      s += e;
    }
    for (long long j = 0; j < cols; j++) o[j] = o[j] / s;
  }
}
