// Element-wise kernels of the native engine: binary ops over broadcast shapes (the TS side collapses
// the shapes to at most 6 dims and passes per-operand strides, 0 on a broadcast dim) and unary ops,
// with tfjs's CPU semantics (NaN propagation in Maximum, Relu, Step; Softplus thresholds).
#include "engine/engine.h"
#include "engine/simd_math.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>

namespace cmdcm {
namespace {

enum BinOp { kAdd = 0, kSub, kMul, kDiv, kMax, kMin, kSqDiff, kPow, kGreater = 10, kGreaterEq, kLess, kLessEq, kEqual, kNotEqual };

template <int Op>
inline float Bin(float a, float b) {
  if constexpr (Op == kAdd) return a + b;
  if constexpr (Op == kSub) return a - b;
  if constexpr (Op == kMul) return a * b;
  if constexpr (Op == kDiv) return a / b;
  if constexpr (Op == kMax) return a != a ? a : (b != b ? b : (a > b ? a : b));
  if constexpr (Op == kMin) return a != a ? a : (b != b ? b : (a < b ? a : b));
  if constexpr (Op == kSqDiff) return (a - b) * (a - b);
  if constexpr (Op == kPow) return std::pow(a, b);
  return 0.f;
}
template <int Op>
inline uint8_t Cmp(float a, float b) {
  if constexpr (Op == kGreater) return a > b;
  if constexpr (Op == kGreaterEq) return a >= b;
  if constexpr (Op == kLess) return a < b;
  if constexpr (Op == kLessEq) return a <= b;
  if constexpr (Op == kEqual) return a == b;
  if constexpr (Op == kNotEqual) return a != b;
  return 0;
}

template <int Op, typename O>
inline O Apply(float a, float b) {
  if constexpr (Op >= kGreater) return Cmp<Op>(a, b);
  else return Bin<Op>(a, b);
}

// Innermost loop, specialized on the stride pattern so the common cases vectorize.
template <int Op, typename O>
inline void Inner(const float* a, const float* b, O* o, int n, int sa, int sb) {
  if (sa == 1 && sb == 1) for (int i = 0; i < n; i++) o[i] = Apply<Op, O>(a[i], b[i]);
  else if (sa == 1 && sb == 0) { const float bv = *b; for (int i = 0; i < n; i++) o[i] = Apply<Op, O>(a[i], bv); }
  else if (sa == 0 && sb == 1) { const float av = *a; for (int i = 0; i < n; i++) o[i] = Apply<Op, O>(av, b[i]); }
  else for (int i = 0; i < n; i++) o[i] = Apply<Op, O>(a[(size_t)i * sa], b[(size_t)i * sb]);
}

template <int Op, typename O>
void Run(const float* a, const float* b, O* o, int rank, const int32_t* dims, const int32_t* sa, const int32_t* sb) {
  if (rank == 0) { o[0] = Apply<Op, O>(a[0], b[0]); return; }
  const int last = rank - 1;
  const int n = dims[last];
  size_t outer = 1;
  for (int d = 0; d < last; d++) outer *= (size_t)dims[d];
  int idx[8] = {0};
  size_t ao = 0, bo = 0;
  for (size_t r = 0; r < outer; r++) {
    Inner<Op, O>(a + ao, b + bo, o + r * n, n, sa[last], sb[last]);
    for (int d = last - 1; d >= 0; d--) {
      idx[d]++;
      ao += sa[d];
      bo += sb[d];
      if (idx[d] < dims[d]) break;
      ao -= (size_t)sa[d] * dims[d];
      bo -= (size_t)sb[d] * dims[d];
      idx[d] = 0;
    }
  }
}

// binary(op, a, b, out, dims, aStrides, bStrides): out is Float32Array, or Uint8Array for comparisons.
// The largest element offset a strided walk over dims reaches (strides >= 0), + 1: the length an
// input must have.
size_t SpanOf(const int32_t* dims, const int32_t* strides, int rank) {
  size_t last = 0;
  for (int d = 0; d < rank; d++) last += (size_t)(dims[d] - 1) * (size_t)strides[d];
  return last + 1;
}

// binary(op, a, b, out, dims, aStrides, bStrides): out (dims, row-major) = a op b, with a and b
// read through their (broadcast: stride 0) strides. Comparisons write a Uint8Array.
Napi::Value Binary(const Napi::CallbackInfo& info) {
  Args args(info, "binary");
  const int op = (int)args.Int(0, "op", 0, kNotEqual);
  const auto av = args.Array<float>(1, "a"), bv = args.Array<float>(2, "b");
  const auto dv = args.Array<int32_t>(4, "dims"), sav = args.Array<int32_t>(5, "aStrides"), sbv = args.Array<int32_t>(6, "bStrides");
  const bool cmp = op >= kGreater;
  View<float> of;
  View<uint8_t> ou;
  if (cmp) ou = args.Array<uint8_t>(3, "out");
  else of = args.Array<float>(3, "out");
  const int rank = (int)dv.length;
  args.Require(rank <= 8, [&] { return "rank " + std::to_string(rank) + " > 8"; });
  args.Require(sav.length == dv.length && sbv.length == dv.length, "dims, aStrides and bStrides must have the same length");
  if (!args) return args.Fail();
  const int32_t* dims = dv.data;
  const int32_t* sa = sav.data;
  const int32_t* sb = sbv.data;
  for (int d = 0; d < rank; d++) args.Require(dims[d] >= 0 && sa[d] >= 0 && sb[d] >= 0, "dims and strides must be >= 0");
  if (!args) return args.Fail();
  const size_t n = ShapeSize(dims, rank);
  if (n == 0) return info.Env().Undefined();
  args.Require((cmp ? ou.length : of.length) >= n, [&] { return "out holds " + std::to_string(cmp ? ou.length : of.length) + " values, dims need " + std::to_string(n); });
  args.Require(av.length >= SpanOf(dims, sa, rank) && bv.length >= SpanOf(dims, sb, rank), "a or b is shorter than its strides reach");
  if (!args) return args.Fail();
  const float* a = av.data;
  const float* b = bv.data;
#define CASE_F(OP) case OP: Run<OP, float>(a, b, of.data, rank, dims, sa, sb); break;
#define CASE_U(OP) case OP: Run<OP, uint8_t>(a, b, ou.data, rank, dims, sa, sb); break;
  switch (op) {
    CASE_F(kAdd) CASE_F(kSub) CASE_F(kMul) CASE_F(kDiv) CASE_F(kMax) CASE_F(kMin) CASE_F(kSqDiff) CASE_F(kPow)
    CASE_U(kGreater) CASE_U(kGreaterEq) CASE_U(kLess) CASE_U(kLessEq) CASE_U(kEqual) CASE_U(kNotEqual)
    default: args.RangeError("unknown op " + std::to_string(op));
  }
#undef CASE_F
#undef CASE_U
  return info.Env().Undefined();
}

enum UnOp {
  kRelu = 0, kSigmoid, kExp, kLog, kLog1p, kSoftplus, kNeg, kSquare, kSqrt, kRsqrt, kAbs, kTanh, kStep, kReciprocal,
  kElu, kClip, kLeakyRelu, kRelu6, kExpm1
};

// Scalar transcendental ops run in double like tfjs's JS kernels (then round once), so results
// agree to the float rounding; only exp and sigmoid, the hot ones, use the vector float path.
inline float Softplus(float xf) {
  // tfjs's thresholds: exp(x) below, x above, log(1 + e^x) between.
  const double x = xf;
  const double threshold = std::log(1.1920928955078125e-7) + 2.0;
  const double e = std::exp(x);
  if (x < threshold) return (float)e;
  if (x > -threshold) return xf;
  return (float)std::log(1.0 + e);
}

void Unary(int op, const float* x, float* o, size_t n, float alpha, float beta) {
  size_t i = 0;
  switch (op) {
    case kRelu: for (; i < n; i++) o[i] = x[i] > 0.f ? x[i] : (x[i] != x[i] ? x[i] : 0.f); break;
    case kSigmoid:
#if CMDCM_SIMD_EXP
      for (; i + 8 <= n; i += 8) {
        const __m256 e = Exp256(_mm256_sub_ps(_mm256_setzero_ps(), _mm256_loadu_ps(x + i)));
        _mm256_storeu_ps(o + i, _mm256_div_ps(_mm256_set1_ps(1.f), _mm256_add_ps(_mm256_set1_ps(1.f), e)));
      }
#endif
      for (; i < n; i++) o[i] = 1.f / (1.f + std::exp(-x[i]));
      break;
    case kExp:
#if CMDCM_SIMD_EXP
      for (; i + 8 <= n; i += 8) _mm256_storeu_ps(o + i, Exp256(_mm256_loadu_ps(x + i)));
#endif
      for (; i < n; i++) o[i] = std::exp(x[i]);
      break;
    case kLog: for (; i < n; i++) o[i] = (float)std::log((double)x[i]); break;
    case kLog1p: for (; i < n; i++) o[i] = (float)std::log1p((double)x[i]); break;
    case kSoftplus: for (; i < n; i++) o[i] = Softplus(x[i]); break;
    case kNeg: for (; i < n; i++) o[i] = -x[i]; break;
    case kSquare: for (; i < n; i++) o[i] = x[i] * x[i]; break;
    case kSqrt: for (; i < n; i++) o[i] = std::sqrt(x[i]); break;
    case kRsqrt: for (; i < n; i++) o[i] = (float)(1.0 / std::sqrt((double)x[i])); break;
    case kAbs: for (; i < n; i++) o[i] = std::fabs(x[i]); break;
    case kTanh: for (; i < n; i++) o[i] = (float)std::tanh((double)x[i]); break;
    case kStep: for (; i < n; i++) o[i] = x[i] != x[i] ? x[i] : (x[i] > 0.f ? 1.f : alpha); break;
    case kReciprocal: for (; i < n; i++) o[i] = 1.f / x[i]; break;
    case kElu: for (; i < n; i++) o[i] = x[i] >= 0.f ? x[i] : (float)(std::exp((double)x[i]) - 1.0); break;
    case kClip: for (; i < n; i++) o[i] = x[i] > beta ? beta : (x[i] < alpha ? alpha : x[i]); break;
    case kLeakyRelu: for (; i < n; i++) o[i] = x[i] < 0.f ? alpha * x[i] : x[i]; break;
    case kRelu6: for (; i < n; i++) o[i] = x[i] != x[i] ? x[i] : std::min(6.f, std::max(0.f, x[i])); break;
    case kExpm1: for (; i < n; i++) o[i] = (float)std::expm1((double)x[i]); break;
    default: break;
  }
}

// unary(op, x, out, alpha, beta)
Napi::Value UnaryFn(const Napi::CallbackInfo& info) {
  Args args(info, "unary");
  const int op = (int)args.Int(0, "op", 0, kExpm1);
  const auto x = args.Array<float>(1, "x"), o = args.Array<float>(2, "out");
  const float alpha = (float)args.Num(3, "alpha"), beta = (float)args.Num(4, "beta");
  args.Require(o.length >= x.length, "out is shorter than x");
  if (!args) return args.Fail();
  Unary(op, x.data, o.data, x.length, alpha, beta);
  return info.Env().Undefined();
}

// select(cond Uint8Array, t, e, out, innerBroadcast): tfjs Select with cond of the output's
// shape (inner = 1) or of its leading dim (inner = elements per leading index).
Napi::Value Select(const Napi::CallbackInfo& info) {
  Args args(info, "select");
  const auto cv = args.Array<uint8_t>(0, "cond");
  const auto tv = args.Array<float>(1, "t"), ev = args.Array<float>(2, "e"), ov = args.Array<float>(3, "out");
  const size_t inner = args.Size(4, "inner");
  const size_t n = ov.length;
  args.Require(tv.length >= n && ev.length >= n, "t and e must be at least as long as out");
  args.Require(n == 0 || cv.length >= (inner <= 1 ? n : (n - 1) / inner + 1), "cond is shorter than out needs");
  if (!args) return args.Fail();
  const uint8_t* c = cv.data;
  const float* t = tv.data;
  const float* e = ev.data;
  float* o = ov.data;
  if (inner <= 1) for (size_t i = 0; i < n; i++) o[i] = c[i] ? t[i] : e[i];
  else for (size_t i = 0; i < n; i++) o[i] = c[i / inner] ? t[i] : e[i];
  return info.Env().Undefined();
}

}  // namespace

void InitElementwise(Napi::Env env, Napi::Object exports) {
  exports.Set("binary", Napi::Function::New(env, Binary, "binary"));
  exports.Set("unary", Napi::Function::New(env, UnaryFn, "unary"));
  exports.Set("select", Napi::Function::New(env, Select, "select"));
}

}  // namespace cmdcm
