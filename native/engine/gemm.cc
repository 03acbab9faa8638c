// Single-precision GEMM for the native engine: OpenBLAS sgemm when the build found it (pinned to one
// thread: the trainer parallelizes over workers), otherwise an in-tree BLIS-style kernel: B packed
// into 16-column panels, A into 6-row panels, and a 6x16 register-blocked AVX2/FMA micro-kernel
// (compiled with -march=native). A portable scalar path keeps non-x86 builds working.
#include "engine/engine.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#if CMDCM_HAVE_OPENBLAS
#include <cblas.h>
extern "C" void openblas_set_num_threads(int);
#endif
#if defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>
#define CMDCM_AVX2 1
#else
#define CMDCM_AVX2 0
#endif

namespace cmdcm {
namespace {

constexpr int MR = 6, NR = 16;
constexpr int KC = 256, MC = 144, NC = 2048;

struct AlignedBuf {
  float* p = nullptr;
  size_t n = 0;
  float* get(size_t want) {
    if (want > n) {
      std::free(p);
      p = static_cast<float*>(std::aligned_alloc(64, ((want * sizeof(float) + 63) / 64) * 64));
      n = want;
    }
    return p;
  }
  ~AlignedBuf() { std::free(p); }
};
// Per thread: every worker thread runs its own GEMMs on its own packing buffers.
thread_local AlignedBuf packA, packB;
// Per thread too: benchmarks and tests switch a BLAS build to the in-tree kernel with setGemm().
thread_local bool useBlas = CMDCM_HAVE_OPENBLAS != 0;

inline float At(const float* A, int lda, bool t, int i, int k) { return t ? A[(size_t)k * lda + i] : A[(size_t)i * lda + k]; }

// Packs rows [i0, i0+mc) x cols [k0, k0+kc) of op(A) into MR-row panels, zero-padded.
void PackA(const float* A, int lda, bool t, int M, int i0, int mc, int k0, int kc, float* dst) {
  for (int ip = 0; ip < mc; ip += MR) {
    const int rows = std::min(MR, mc - ip);
    if (!t) {
      for (int r = 0; r < MR; r++) {
        if (r < rows) {
          const float* src = A + (size_t)(i0 + ip + r) * lda + k0;
          for (int k = 0; k < kc; k++) dst[k * MR + r] = src[k];
        } else {
          for (int k = 0; k < kc; k++) dst[k * MR + r] = 0.f;
        }
      }
    } else {
      for (int k = 0; k < kc; k++) {
        const float* src = A + (size_t)(k0 + k) * lda + i0 + ip;
        for (int r = 0; r < MR; r++) dst[k * MR + r] = r < rows ? src[r] : 0.f;
      }
    }
    dst += (size_t)kc * MR;
  }
  (void)M;
}

// Packs rows [k0, k0+kc) x cols [j0, j0+nc) of op(B) into NR-column panels, zero-padded.
void PackB(const float* B, int ldb, bool t, int k0, int kc, int j0, int nc, float* dst) {
  for (int jp = 0; jp < nc; jp += NR) {
    const int cols = std::min(NR, nc - jp);
    if (!t) {
      for (int k = 0; k < kc; k++) {
        const float* src = B + (size_t)(k0 + k) * ldb + j0 + jp;
        float* d = dst + k * NR;
        if (cols == NR) std::memcpy(d, src, NR * sizeof(float));
        else {
          for (int c = 0; c < cols; c++) d[c] = src[c];
          for (int c = cols; c < NR; c++) d[c] = 0.f;
        }
      }
    } else {
      for (int c = 0; c < NR; c++) {
        if (c < cols) {
          const float* src = B + (size_t)(j0 + jp + c) * ldb + k0;
          for (int k = 0; k < kc; k++) dst[k * NR + c] = src[k];
        } else {
          for (int k = 0; k < kc; k++) dst[k * NR + c] = 0.f;
        }
      }
    }
    dst += (size_t)kc * NR;
  }
}

#if CMDCM_AVX2
// C[6x16] (=|+=) Ap[kc x 6]^T-panel · Bp[kc x 16]-panel.
inline void Micro(int kc, const float* Ap, const float* Bp, float* C, int ldc, bool acc) {
  __m256 c00 = _mm256_setzero_ps(), c01 = _mm256_setzero_ps(), c10 = _mm256_setzero_ps(), c11 = _mm256_setzero_ps();
  __m256 c20 = _mm256_setzero_ps(), c21 = _mm256_setzero_ps(), c30 = _mm256_setzero_ps(), c31 = _mm256_setzero_ps();
  __m256 c40 = _mm256_setzero_ps(), c41 = _mm256_setzero_ps(), c50 = _mm256_setzero_ps(), c51 = _mm256_setzero_ps();
  for (int k = 0; k < kc; k++) {
    const __m256 b0 = _mm256_load_ps(Bp), b1 = _mm256_load_ps(Bp + 8);
    __m256 a;
    a = _mm256_broadcast_ss(Ap + 0); c00 = _mm256_fmadd_ps(a, b0, c00); c01 = _mm256_fmadd_ps(a, b1, c01);
    a = _mm256_broadcast_ss(Ap + 1); c10 = _mm256_fmadd_ps(a, b0, c10); c11 = _mm256_fmadd_ps(a, b1, c11);
    a = _mm256_broadcast_ss(Ap + 2); c20 = _mm256_fmadd_ps(a, b0, c20); c21 = _mm256_fmadd_ps(a, b1, c21);
    a = _mm256_broadcast_ss(Ap + 3); c30 = _mm256_fmadd_ps(a, b0, c30); c31 = _mm256_fmadd_ps(a, b1, c31);
    a = _mm256_broadcast_ss(Ap + 4); c40 = _mm256_fmadd_ps(a, b0, c40); c41 = _mm256_fmadd_ps(a, b1, c41);
    a = _mm256_broadcast_ss(Ap + 5); c50 = _mm256_fmadd_ps(a, b0, c50); c51 = _mm256_fmadd_ps(a, b1, c51);
    Ap += MR;
    Bp += NR;
  }
#define CMDCM_ST(r, x0, x1)                                                              \
  {                                                                                    \
    float* row = C + (size_t)(r) * ldc;                                                \
    if (acc) {                                                                         \
      _mm256_storeu_ps(row, _mm256_add_ps(_mm256_loadu_ps(row), x0));                  \
      _mm256_storeu_ps(row + 8, _mm256_add_ps(_mm256_loadu_ps(row + 8), x1));          \
    } else {                                                                           \
      _mm256_storeu_ps(row, x0);                                                       \
      _mm256_storeu_ps(row + 8, x1);                                                   \
    }                                                                                  \
  }
  CMDCM_ST(0, c00, c01) CMDCM_ST(1, c10, c11) CMDCM_ST(2, c20, c21)
  CMDCM_ST(3, c30, c31) CMDCM_ST(4, c40, c41) CMDCM_ST(5, c50, c51)
#undef CMDCM_ST
}
#else
inline void Micro(int kc, const float* Ap, const float* Bp, float* C, int ldc, bool acc) {
  float c[MR][NR] = {};
  for (int k = 0; k < kc; k++, Ap += MR, Bp += NR)
    for (int r = 0; r < MR; r++)
      for (int j = 0; j < NR; j++) c[r][j] += Ap[r] * Bp[j];
  for (int r = 0; r < MR; r++)
    for (int j = 0; j < NR; j++) C[(size_t)r * ldc + j] = acc ? C[(size_t)r * ldc + j] + c[r][j] : c[r][j];
}
#endif

void BlockedSgemm(bool tA, bool tB, int M, int N, int K, const float* A, int lda, const float* B, int ldb, float* C,
                  int ldc, bool accumulate) {
  float* bp = packB.get((size_t)KC * (NC + NR));
  float* ap = packA.get((size_t)KC * (MC + MR));
  alignas(32) float tile[MR * NR];
  for (int jc = 0; jc < N; jc += NC) {
    const int nc = std::min(NC, N - jc);
    for (int pc = 0; pc < K; pc += KC) {
      const int kc = std::min(KC, K - pc);
      const bool acc = accumulate || pc > 0;
      PackB(B, ldb, tB, pc, kc, jc, nc, bp);
      for (int ic = 0; ic < M; ic += MC) {
        const int mc = std::min(MC, M - ic);
        PackA(A, lda, tA, M, ic, mc, pc, kc, ap);
        for (int jr = 0; jr < nc; jr += NR) {
          const int nr = std::min(NR, nc - jr);
          const float* bpanel = bp + (size_t)(jr / NR) * kc * NR;
          for (int ir = 0; ir < mc; ir += MR) {
            const int mr = std::min(MR, mc - ir);
            const float* apanel = ap + (size_t)(ir / MR) * kc * MR;
            float* c = C + (size_t)(ic + ir) * ldc + jc + jr;
            if (mr == MR && nr == NR) {
              Micro(kc, apanel, bpanel, c, ldc, acc);
            } else {
              Micro(kc, apanel, bpanel, tile, NR, false);
              for (int r = 0; r < mr; r++)
                for (int j = 0; j < nr; j++) c[(size_t)r * ldc + j] = (acc ? c[(size_t)r * ldc + j] : 0.f) + tile[r * NR + j];
            }
          }
        }
      }
    }
  }
}

inline float Dot(int n, const float* a, const float* b) {
  int k = 0;
  float s = 0.f;
#if CMDCM_AVX2
  __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();
  for (; k + 16 <= n; k += 16) {
    s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + k), _mm256_loadu_ps(b + k), s0);
    s1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + k + 8), _mm256_loadu_ps(b + k + 8), s1);
  }
  for (; k + 8 <= n; k += 8) s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + k), _mm256_loadu_ps(b + k), s0);
  s0 = _mm256_add_ps(s0, s1);
  __m128 h = _mm_add_ps(_mm256_castps256_ps128(s0), _mm256_extractf128_ps(s0, 1));
  h = _mm_add_ps(h, _mm_movehl_ps(h, h));
  h = _mm_add_ss(h, _mm_movehdup_ps(h));
  s = _mm_cvtss_f32(h);
#endif
  for (; k < n; k++) s += a[k] * b[k];
  return s;
}

inline void Axpy(int n, float a, const float* x, float* y) {
  for (int i = 0; i < n; i++) y[i] += a * x[i];
}

// Products too small or too thin to amortize packing (matrix-vector products of the output
// layers, K = 1 outer products, attention-sized blocks): loops ordered so that every inner loop
// runs over contiguous memory, whatever the transposes.
void SmallSgemm(bool tA, bool tB, int M, int N, int K, const float* A, int lda, const float* B, int ldb, float* C,
                int ldc, bool accumulate) {
  // A vector operand has the same memory either way round: pick the orientation with contiguous loops.
  if (M == 1) { tA = false; lda = K; }
  if (K == 1) { tA = false; lda = 1; tB = false; ldb = N; }
  if (N == 1) { tB = true; ldb = K; }
  if (!accumulate)
    for (int i = 0; i < M; i++) std::fill(C + (size_t)i * ldc, C + (size_t)i * ldc + N, 0.f);
  if (!tA && tB) {
    for (int i = 0; i < M; i++)
      for (int j = 0; j < N; j++) C[(size_t)i * ldc + j] += Dot(K, A + (size_t)i * lda, B + (size_t)j * ldb);
  } else if (!tA && !tB) {
    for (int i = 0; i < M; i++)
      for (int k = 0; k < K; k++) Axpy(N, A[(size_t)i * lda + k], B + (size_t)k * ldb, C + (size_t)i * ldc);
  } else if (tA && !tB) {
    for (int k = 0; k < K; k++)
      for (int i = 0; i < M; i++) Axpy(N, A[(size_t)k * lda + i], B + (size_t)k * ldb, C + (size_t)i * ldc);
  } else if (N == 1 && ldc == 1) {
    for (int k = 0; k < K; k++) Axpy(M, B[k], A + (size_t)k * lda, C);
  } else {
    for (int j = 0; j < N; j++)
      for (int k = 0; k < K; k++) {
        const float b = B[(size_t)j * ldb + k];
        const float* a = A + (size_t)k * lda;
        for (int i = 0; i < M; i++) C[(size_t)i * ldc + j] += a[i] * b;
      }
  }
}

}  // namespace

const char* GemmName() {
  if (useBlas) return "openblas";
#if CMDCM_AVX2
  return "in-tree-avx2-fma";
#else
  return "in-tree-scalar";
#endif
}

void Sgemm(bool tA, bool tB, int M, int N, int K, const float* A, int lda, const float* B, int ldb, float* C, int ldc,
           bool accumulate) {
  if (M == 0 || N == 0) return;
  if (K == 0) {
    if (!accumulate)
      for (int i = 0; i < M; i++) std::fill(C + (size_t)i * ldc, C + (size_t)i * ldc + N, 0.f);
    return;
  }
  if ((double)M * N * K < 32.0 * 32 * 32 || M < 4 || N < 8 || K < 4) {
    SmallSgemm(tA, tB, M, N, K, A, lda, B, ldb, C, ldc, accumulate);
    return;
  }
#if CMDCM_HAVE_OPENBLAS
  if (useBlas) {
    cblas_sgemm(CblasRowMajor, tA ? CblasTrans : CblasNoTrans, tB ? CblasTrans : CblasNoTrans, M, N, K, 1.0f, A, lda,
                B, ldb, accumulate ? 1.0f : 0.0f, C, ldc);
    return;
  }
#endif
  BlockedSgemm(tA, tB, M, N, K, A, lda, B, ldb, C, ldc, accumulate);
}

namespace {

enum Act { kLinear = 0, kRelu = 1, kSigmoid = 2, kElu = 3, kLeakyRelu = 4, kRelu6 = 5 };
enum BiasKind { kNone = 0, kScalar = 1, kRow = 2, kCol = 3, kFull = 4, kFullBatch = 5 };

// matmul(a, b, out, batch, M, N, K, transA, transB, strideA, strideB, bias|null, biasKind, act, alpha)
// out[batch, M, N]; strideA/strideB are 0 for a broadcast operand.
Napi::Value MatMul(const Napi::CallbackInfo& info) {
  Args args(info, "matmul");
  const auto av = args.Array<float>(0, "a"), bv = args.Array<float>(1, "b"), ov = args.Array<float>(2, "out");
  const int batch = (int)args.Int(3, "batch", 0, INT32_MAX), M = (int)args.Int(4, "M", 0, INT32_MAX),
            N = (int)args.Int(5, "N", 0, INT32_MAX), K = (int)args.Int(6, "K", 0, INT32_MAX);
  const bool tA = args.Bool(7), tB = args.Bool(8);
  const size_t sA = args.Size(9, "strideA"), sB = args.Size(10, "strideB");
  const auto biasV = args.OptionalArray<float>(11, "bias");
  const int biasKind = (int)args.Int(12, "biasKind", kNone, kFullBatch), act = (int)args.Int(13, "act", kLinear, kRelu6);
  const float alpha = (float)args.Num(14, "alpha");
  if (!args) return args.Fail();
  const size_t mn = (size_t)M * N, last = batch > 0 ? (size_t)batch - 1 : 0;
  if (batch > 0) {
    args.Require(av.length >= last * sA + (size_t)M * K, [&] { return "a holds " + std::to_string(av.length) + " values, the batch's strides and M × K need " + std::to_string(last * sA + (size_t)M * K); });
    args.Require(bv.length >= last * sB + (size_t)K * N, [&] { return "b holds " + std::to_string(bv.length) + " values, the batch's strides and K × N need " + std::to_string(last * sB + (size_t)K * N); });
    args.Require(ov.length >= (size_t)batch * mn, [&] { return "out holds " + std::to_string(ov.length) + " values, batch × M × N needs " + std::to_string((size_t)batch * mn); });
  }
  const float* bias = biasV.data;
  if (bias && biasKind != kNone) {
    const size_t need = biasKind == kScalar ? 1 : biasKind == kRow ? (size_t)N : biasKind == kCol ? (size_t)M : biasKind == kFull ? mn : (size_t)batch * mn;
    args.Require(biasV.length >= need, [&] { return "bias holds " + std::to_string(biasV.length) + " values, its kind needs " + std::to_string(need); });
  }
  if (!args) return args.Fail();
  const float* a = av.data;
  const float* b = bv.data;
  float* out = ov.data;
  const int lda = tA ? M : K, ldb = tB ? K : N;
  for (int p = 0; p < batch; p++) {
    float* c = out + (size_t)p * M * N;
    Sgemm(tA, tB, M, N, K, a + p * sA, lda, b + p * sB, ldb, c, N, false);
    if (bias && biasKind != kNone) {
      for (int i = 0; i < M; i++) {
        float* row = c + (size_t)i * N;
        switch (biasKind) {
          case kScalar: for (int j = 0; j < N; j++) row[j] += bias[0]; break;
          case kRow: for (int j = 0; j < N; j++) row[j] += bias[j]; break;
          case kCol: for (int j = 0; j < N; j++) row[j] += bias[i]; break;
          case kFull: for (int j = 0; j < N; j++) row[j] += bias[(size_t)i * N + j]; break;
          case kFullBatch: for (int j = 0; j < N; j++) row[j] += bias[((size_t)p * M + i) * N + j]; break;
        }
      }
    }
    const size_t n = (size_t)M * N;
    switch (act) {
      case kRelu: for (size_t i = 0; i < n; i++) c[i] = c[i] > 0.f ? c[i] : (std::isnan(c[i]) ? c[i] : 0.f); break;
      case kSigmoid: for (size_t i = 0; i < n; i++) c[i] = 1.f / (1.f + std::exp(-c[i])); break;
      case kElu: for (size_t i = 0; i < n; i++) c[i] = c[i] >= 0.f ? c[i] : std::exp(c[i]) - 1.f; break;
      case kLeakyRelu: for (size_t i = 0; i < n; i++) c[i] = c[i] < 0.f ? alpha * c[i] : c[i]; break;
      case kRelu6: for (size_t i = 0; i < n; i++) c[i] = std::min(6.f, std::max(0.f, c[i])); break;
      default: break;
    }
  }
  return info.Env().Undefined();
}

// setGemm('openblas' | 'in-tree'): returns the GEMM now in use ('openblas' only in a BLAS build).
Napi::Value SetGemm(const Napi::CallbackInfo& info) {
  Args args(info, "setGemm");
  const std::string want = args.Str(0, "which");
  args.Require(want == "openblas" || want == "in-tree", [&] { return "which must be 'openblas' or 'in-tree', got '" + want + "'"; });
  if (!args) return args.Fail();
  useBlas = CMDCM_HAVE_OPENBLAS != 0 && want == "openblas";
  return Napi::String::New(info.Env(), GemmName());
}

Napi::Value GemmInfo(const Napi::CallbackInfo& info) {
  Napi::Object o = Napi::Object::New(info.Env());
  o.Set("gemm", GemmName());
  o.Set("blasBuilt", CMDCM_HAVE_OPENBLAS != 0);
  o.Set("simd", CMDCM_AVX2 ? "avx2-fma" : "scalar");
  o.Set("threads", 1);
  return o;
}

}  // namespace

void InitGemm(Napi::Env env, Napi::Object exports) {
#if CMDCM_HAVE_OPENBLAS
  openblas_set_num_threads(1);
#endif
  exports.Set("matmul", Napi::Function::New(env, MatMul, "matmul"));
  exports.Set("setGemm", Napi::Function::New(env, SetGemm, "setGemm"));
  exports.Set("gemmInfo", Napi::Function::New(env, GemmInfo, "gemmInfo"));
}

}  // namespace cmdcm
