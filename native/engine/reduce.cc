// Reductions over one contiguous run of axes, viewed as [outer, R, inner] -> [outer, inner], and
// softmax over the last axis. Sums accumulate in float along vectorized inner rows, matching
// tfjs's CPU results to float tolerance.
#include "engine/engine.h"

#include <string>
#include "engine/simd_math.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

namespace cmdcm {
namespace {

enum RedOp { kSum = 0, kMean, kMax, kMin, kProd };

// reduce(op, x, out, outer, R, inner)
Napi::Value Reduce(const Napi::CallbackInfo& info) {
  Args args(info, "reduce");
  const int op = (int)args.Int(0, "op", kSum, kProd);
  const auto xv = args.Array<float>(1, "x"), ov = args.Array<float>(2, "out");
  const size_t outer = args.Size(3, "outer"), R = args.Size(4, "R"), inner = args.Size(5, "inner");
  args.Require(xv.length >= outer * R * inner, [&] { return "x holds " + std::to_string(xv.length) + " values, outer × R × inner needs " + std::to_string(outer * R * inner); });
  args.Require(ov.length >= outer * inner, [&] { return "out holds " + std::to_string(ov.length) + " values, outer × inner needs " + std::to_string(outer * inner); });
  if (!args) return args.Fail();
  const float* x = xv.data;
  float* o = ov.data;
  for (size_t p = 0; p < outer; p++) {
    const float* xp = x + p * R * inner;
    float* op_ = o + p * inner;
    if (inner == 1) {
      if (op == kSum || op == kMean) {
        // Eight partial sums: vectorizes and keeps the rounding error of long rows small.
        float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
        size_t r = 0;
        for (; r + 8 <= R; r += 8)
          for (int l = 0; l < 8; l++) acc[l] += xp[r + l];
        float s = ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
        for (; r < R; r++) s += xp[r];
        op_[0] = op == kMean ? s / (float)R : s;
      } else if (op == kMax || op == kMin) {
        float m = R ? xp[0] : (op == kMax ? -INFINITY : INFINITY);
        for (size_t r = 1; r < R; r++) {
          const float v = xp[r];
          if (v != v || (op == kMax ? v > m : v < m)) m = v;
          if (m != m) break;
        }
        op_[0] = m;
      } else {
        float s = 1.f;
        for (size_t r = 0; r < R; r++) s *= xp[r];
        op_[0] = s;
      }
      continue;
    }
    if (op == kSum || op == kMean) {
      std::fill(op_, op_ + inner, 0.f);
      for (size_t r = 0; r < R; r++) {
        const float* row = xp + r * inner;
        for (size_t i = 0; i < inner; i++) op_[i] += row[i];
      }
      if (op == kMean) {
        const float inv = (float)R;
        for (size_t i = 0; i < inner; i++) op_[i] /= inv;
      }
    } else if (op == kMax || op == kMin) {
      if (R == 0) { std::fill(op_, op_ + inner, op == kMax ? -INFINITY : INFINITY); continue; }
      std::copy(xp, xp + inner, op_);
      for (size_t r = 1; r < R; r++) {
        const float* row = xp + r * inner;
        if (op == kMax) for (size_t i = 0; i < inner; i++) { const float v = row[i]; op_[i] = (v != v || v > op_[i] || op_[i] != op_[i]) ? (op_[i] != op_[i] ? op_[i] : v) : op_[i]; }
        else for (size_t i = 0; i < inner; i++) { const float v = row[i]; op_[i] = (v != v || v < op_[i] || op_[i] != op_[i]) ? (op_[i] != op_[i] ? op_[i] : v) : op_[i]; }
      }
    } else {
      std::fill(op_, op_ + inner, 1.f);
      for (size_t r = 0; r < R; r++)
        for (size_t i = 0; i < inner; i++) op_[i] *= xp[r * inner + i];
    }
  }
  return info.Env().Undefined();
}

// softmax(x, out, rows, cols): over the last axis, max-subtracted like tfjs.
Napi::Value Softmax(const Napi::CallbackInfo& info) {
  Args args(info, "softmax");
  const auto xv = args.Array<float>(0, "x"), ov = args.Array<float>(1, "out");
  const size_t rows = args.Size(2, "rows"), cols = args.Size(3, "cols");
  args.Require(xv.length >= rows * cols && ov.length >= rows * cols, [&] { return "x and out must hold rows × cols = " + std::to_string(rows * cols) + " values"; });
  if (!args) return args.Fail();
  const float* x = xv.data;
  float* o = ov.data;
  for (size_t r = 0; r < rows; r++) {
    const float* xr = x + r * cols;
    float* orow = o + r * cols;
    float m = -INFINITY;
    for (size_t c = 0; c < cols; c++) m = xr[c] > m ? xr[c] : m;
    size_t c = 0;
#if CMDCM_SIMD_EXP
    const __m256 mv = _mm256_set1_ps(m);
    for (; c + 8 <= cols; c += 8) _mm256_storeu_ps(orow + c, Exp256(_mm256_sub_ps(_mm256_loadu_ps(xr + c), mv)));
#endif
    for (; c < cols; c++) orow[c] = std::exp(xr[c] - m);
    float s = 0.f;
    for (c = 0; c < cols; c++) s += orow[c];
    for (c = 0; c < cols; c++) orow[c] /= s;
  }
  return info.Env().Undefined();
}

}  // namespace

void InitReduce(Napi::Env env, Napi::Object exports) {
  exports.Set("reduce", Napi::Function::New(env, Reduce, "reduce"));
  exports.Set("softmax", Napi::Function::New(env, Softmax, "softmax"));
}

}  // namespace cmdcm
