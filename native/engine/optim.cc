// Fused in-place optimizer kernels, the addon twins of src/train/optim.ts (the reference): one pass
// over each parameter instead of tfjs ops. Arithmetic is done in double exactly like the TS code
// (which computes in JS numbers and stores float32), so both agree bit for bit. Works on
// any Float32Array view, SharedArrayBuffer-backed and at an offset included; embedding kernels read
// and write only the listed rows.
#include "addon.h"
#include "engine/engine.h"
#include "engine/optim_math.h"

#include <algorithm>
#include <cmath>
#include <string>

namespace cmdcm {
namespace {

constexpr size_t kAhead = 8;  // rows prefetched ahead in the row kernels

bool CheckRows(const Napi::CallbackInfo& info, const int32_t* rows, size_t nRows, size_t tableLen, size_t dim,
               size_t gradLen, size_t stateLen) {
  if (gradLen < nRows * dim) {
    Napi::RangeError::New(info.Env(), "rowGrad has " + std::to_string(gradLen) + " values, rows × dim needs " +
                                          std::to_string(nRows * dim)).ThrowAsJavaScriptException();
    return false;
  }
  const size_t tableRows = std::min(tableLen, stateLen) / (dim ? dim : 1);
  for (size_t r = 0; r < nRows; r++) {
    if (rows[r] < 0 || (size_t)rows[r] >= tableRows) {
      Napi::RangeError::New(info.Env(), "row " + std::to_string(rows[r]) + " outside the table's " +
                                            std::to_string(tableRows) + " rows").ThrowAsJavaScriptException();
      return false;
    }
  }
  return true;
}

// adamDense(p, g, m, v, lr, beta1, beta2, eps, step)
Napi::Value AdamDense(const Napi::CallbackInfo& info) {
  float* p = Ptr<float>(info[0]);
  const float* g = Ptr<float>(info[1]);
  float* m = Ptr<float>(info[2]);
  float* v = Ptr<float>(info[3]);
  const size_t n = Len(info[0]);
  if (Len(info[1]) < n || Len(info[2]) < n || Len(info[3]) < n) {
    return ThrowRange(info.Env(), "adamDense: g, m and v must be at least as long as p");
  }
  AdamUpdate(AdamCoef::Make(D(info, 4), D(info, 5), D(info, 6), D(info, 7), D(info, 8)), p, m, v, g, n);
  return info.Env().Undefined();
}

// lazyAdamRows(table, m, v, dim, rows, rowGrad, lr, beta1, beta2, eps, step)
Napi::Value LazyAdamRows(const Napi::CallbackInfo& info) {
  float* t = Ptr<float>(info[0]);
  float* m = Ptr<float>(info[1]);
  float* v = Ptr<float>(info[2]);
  const size_t dim = (size_t)I(info, 3);
  const int32_t* rows = Ptr<int32_t>(info[4]);
  const size_t nRows = Len(info[4]);
  const float* g = Ptr<float>(info[5]);
  if (!CheckRows(info, rows, nRows, Len(info[0]), dim, Len(info[5]), std::min(Len(info[1]), Len(info[2]))))
    return info.Env().Undefined();
  const AdamCoef c = AdamCoef::Make(D(info, 6), D(info, 7), D(info, 8), D(info, 9), D(info, 10));
  for (size_t r = 0; r < nRows; r++) {
    const size_t base = (size_t)rows[r] * dim;
    // Touched rows are scattered over a table of hundreds of MB: each is a TLB and cache miss,
    // so fetch a few rows ahead while this one is updated.
    if (r + kAhead < nRows) {
      const size_t nb = (size_t)rows[r + kAhead] * dim;
      __builtin_prefetch(t + nb, 1);
      __builtin_prefetch(m + nb, 1);
      __builtin_prefetch(v + nb, 1);
    }
    AdamUpdate(c, t + base, m + base, v + base, g + r * dim, dim);
  }
  return info.Env().Undefined();
}

// adagradRows(table, acc, dim, rows, rowGrad, lr, eps)
Napi::Value AdagradRows(const Napi::CallbackInfo& info) {
  float* t = Ptr<float>(info[0]);
  float* acc = Ptr<float>(info[1]);
  const size_t dim = (size_t)I(info, 2);
  const int32_t* rows = Ptr<int32_t>(info[3]);
  const size_t nRows = Len(info[3]);
  const float* g = Ptr<float>(info[4]);
  if (!CheckRows(info, rows, nRows, Len(info[0]), dim, Len(info[4]), Len(info[1]))) return info.Env().Undefined();
  const double lr = D(info, 5), eps = D(info, 6);
  for (size_t r = 0; r < nRows; r++) {
    const size_t base = (size_t)rows[r] * dim;
    if (r + kAhead < nRows) {
      const size_t nb = (size_t)rows[r + kAhead] * dim;
      __builtin_prefetch(t + nb, 1);
      __builtin_prefetch(acc + nb, 1);
    }
    AdagradUpdate(lr, eps, t + base, acc + base, g + r * dim, dim);
  }
  return info.Env().Undefined();
}

}  // namespace

void InitOptim(Napi::Env env, Napi::Object exports) {
  exports.Set("adamDense", Napi::Function::New(env, AdamDense, "adamDense"));
  exports.Set("lazyAdamRows", Napi::Function::New(env, LazyAdamRows, "lazyAdamRows"));
  exports.Set("adagradRows", Napi::Function::New(env, AdagradRows, "adagradRows"));
}

}  // namespace cmdcm
