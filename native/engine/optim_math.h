// The optimizer arithmetic shared by the fused optimizer kernels (optim.cc) and the data-parallel
// reduce (parallel/reduce.cc), so a parameter moves by the same bits whichever path applies it. It
// mirrors src/engine/optim.ts (the reference): double arithmetic on float32 state, stored as float32.
// Bit-identical to it only without fused multiply-adds (-march=native would contract a·b + c·d into
// FMAs, one rounding short of the reference). A header cannot turn contraction off for its own code
// without turning it off for the rest of every includer, so each file that includes it turns it
// off itself, right before the include, and defines CMDCM_NO_FP_CONTRACT to say so:
//   #if defined(__clang__)
//   #pragma STDC FP_CONTRACT OFF
//   #elif defined(__GNUC__)
//   #pragma GCC optimize("fp-contract=off")
//   #endif
//   #define CMDCM_NO_FP_CONTRACT 1
#pragma once
#ifndef CMDCM_NO_FP_CONTRACT
#error "turn FMA contraction off (see the comment above) before including engine/optim_math.h"
#endif
#include <cmath>
#include <cstddef>
#ifdef __AVX2__
#include <immintrin.h>
#endif

namespace cmdcm {

struct AdamCoef {
  double b1, b2, eps, stepSize, sc2;
  static AdamCoef Make(double lr, double b1, double b2, double eps, double step) {
    const double c1 = 1 - std::pow(b1, step), c2 = 1 - std::pow(b2, step);
    return {b1, b2, eps, lr / c1, 1 / std::sqrt(c2)};
  }
};

// p, m, v ← one Adam step with gradient g, over n values.
inline void AdamUpdate(const AdamCoef& c, float* p, float* m, float* v, const float* g, size_t n) {
  size_t i = 0;
#ifdef __AVX2__
  // Four values at a time, the same double operations in the same order as the scalar loop (the
  // compiler leaves that loop scalar: sqrt and division in double, four arrays that may alias).
  const __m256d b1 = _mm256_set1_pd(c.b1), nb1 = _mm256_set1_pd(1 - c.b1), b2 = _mm256_set1_pd(c.b2), nb2 = _mm256_set1_pd(1 - c.b2);
  const __m256d stepSize = _mm256_set1_pd(c.stepSize), sc2 = _mm256_set1_pd(c.sc2), eps = _mm256_set1_pd(c.eps);
  for (; i + 4 <= n; i += 4) {
    const __m256d gi = _mm256_cvtps_pd(_mm_loadu_ps(g + i));
    const __m256d mi = _mm256_add_pd(_mm256_mul_pd(b1, _mm256_cvtps_pd(_mm_loadu_ps(m + i))), _mm256_mul_pd(nb1, gi));
    const __m256d vi = _mm256_add_pd(_mm256_mul_pd(b2, _mm256_cvtps_pd(_mm_loadu_ps(v + i))), _mm256_mul_pd(_mm256_mul_pd(nb2, gi), gi));
    _mm_storeu_ps(m + i, _mm256_cvtpd_ps(mi));
    _mm_storeu_ps(v + i, _mm256_cvtpd_ps(vi));
    const __m256d step = _mm256_div_pd(_mm256_mul_pd(stepSize, mi), _mm256_add_pd(_mm256_mul_pd(_mm256_sqrt_pd(vi), sc2), eps));
    _mm_storeu_ps(p + i, _mm256_cvtpd_ps(_mm256_sub_pd(_mm256_cvtps_pd(_mm_loadu_ps(p + i)), step)));
  }
#endif
  for (; i < n; i++) {
    const double gi = g[i];
    const double mi = c.b1 * m[i] + (1 - c.b1) * gi;
    const double vi = c.b2 * v[i] + (1 - c.b2) * gi * gi;
    m[i] = (float)mi;
    v[i] = (float)vi;
    p[i] = (float)(p[i] - (c.stepSize * mi) / (std::sqrt(vi) * c.sc2 + c.eps));
  }
}

// p, acc ← one Adagrad step with gradient g, over n values.
inline void AdagradUpdate(double lr, double eps, float* p, float* acc, const float* g, size_t n) {
  size_t i = 0;
#ifdef __AVX2__
  const __m256d lrv = _mm256_set1_pd(lr), epsv = _mm256_set1_pd(eps);
  for (; i + 4 <= n; i += 4) {
    const __m256d gi = _mm256_cvtps_pd(_mm_loadu_ps(g + i));
    const __m256d a = _mm256_add_pd(_mm256_cvtps_pd(_mm_loadu_ps(acc + i)), _mm256_mul_pd(gi, gi));
    _mm_storeu_ps(acc + i, _mm256_cvtpd_ps(a));
    const __m256d step = _mm256_div_pd(_mm256_mul_pd(lrv, gi), _mm256_add_pd(_mm256_sqrt_pd(a), epsv));
    _mm_storeu_ps(p + i, _mm256_cvtpd_ps(_mm256_sub_pd(_mm256_cvtps_pd(_mm_loadu_ps(p + i)), step)));
  }
#endif
  for (; i < n; i++) {
    const double gi = g[i];
    const double a = (double)acc[i] + gi * gi;
    acc[i] = (float)a;
    p[i] = (float)(p[i] - (lr * gi) / (std::sqrt(a) + eps));
  }
}

}  // namespace cmdcm
