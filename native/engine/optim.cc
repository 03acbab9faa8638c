// Fused in-place optimizer kernels, the addon twins of src/engine/optim.ts (the reference): one pass
// over each parameter instead of tfjs ops. Arithmetic is done in double exactly like the TS code
// (which computes in JS numbers and stores float32), so both agree bit for bit. Works on
// any Float32Array view, SharedArrayBuffer-backed and at an offset included; embedding kernels read
// and write only the listed rows.
#include "addon.h"
#include "engine/engine.h"
// Optimizer arithmetic, bit for bit the TypeScript reference's: no FMA contraction in the rest of
// this file (engine/optim_math.h explains why, and checks for it).
#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#elif defined(__GNUC__)
#pragma GCC optimize("fp-contract=off")
#endif
#define CMDCM_NO_FP_CONTRACT 1
#include "engine/optim_math.h"

#include <algorithm>
#include <cmath>
#include <string>

namespace cmdcm {
namespace {

constexpr size_t kAhead = 8;  // rows prefetched ahead in the row kernels

// The row kernels' common checks: the gradient holds rows × dim values and every row is a row of
// the table and of its optimizer state.
bool CheckRows(Args& args, const View<int32_t>& rows, size_t tableLen, size_t dim, size_t gradLen, size_t stateLen) {
  if (!args.Require(gradLen >= rows.length * dim, [&] { return "rowGrad has " + std::to_string(gradLen) + " values, rows × dim needs " + std::to_string(rows.length * dim); })) return false;
  const size_t tableRows = std::min(tableLen, stateLen) / (dim ? dim : 1);
  for (size_t r = 0; r < rows.length; r++) {
    if (rows.data[r] < 0 || (size_t)rows.data[r] >= tableRows) {
      args.RangeError("row " + std::to_string(rows.data[r]) + " outside the table's " + std::to_string(tableRows) + " rows");
      return false;
    }
  }
  return true;
}

// adamDense(p, g, m, v, lr, beta1, beta2, eps, step)
Napi::Value AdamDense(const Napi::CallbackInfo& info) {
  Args args(info, "adamDense");
  const auto p = args.Array<float>(0, "p"), g = args.Array<float>(1, "g"), m = args.Array<float>(2, "m"), v = args.Array<float>(3, "v");
  const double lr = args.Num(4, "lr"), b1 = args.Num(5, "beta1"), b2 = args.Num(6, "beta2"), eps = args.Num(7, "eps"), step = args.Num(8, "step");
  const size_t n = p.length;
  args.Require(g.length >= n && m.length >= n && v.length >= n, "g, m and v must be at least as long as p");
  if (!args) return args.Fail();
  AdamUpdate(AdamCoef::Make(lr, b1, b2, eps, step), p.data, m.data, v.data, g.data, n);
  return info.Env().Undefined();
}

// lazyAdamRows(table, m, v, dim, rows, rowGrad, lr, beta1, beta2, eps, step)
Napi::Value LazyAdamRows(const Napi::CallbackInfo& info) {
  Args args(info, "lazyAdamRows");
  const auto tv = args.Array<float>(0, "table"), mv = args.Array<float>(1, "m"), vv = args.Array<float>(2, "v");
  const size_t dim = (size_t)args.Int(3, "dim", 0, INT32_MAX);
  const auto rv = args.Array<int32_t>(4, "rows");
  const auto gv = args.Array<float>(5, "rowGrad");
  const double lr = args.Num(6, "lr"), b1 = args.Num(7, "beta1"), b2 = args.Num(8, "beta2"), eps = args.Num(9, "eps"), step = args.Num(10, "step");
  if (!args || !CheckRows(args, rv, tv.length, dim, gv.length, std::min(mv.length, vv.length))) return args.Fail();
  float* t = tv.data;
  float* m = mv.data;
  float* v = vv.data;
  const int32_t* rows = rv.data;
  const size_t nRows = rv.length;
  const float* g = gv.data;
  const AdamCoef c = AdamCoef::Make(lr, b1, b2, eps, step);
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
  Args args(info, "adagradRows");
  const auto tv = args.Array<float>(0, "table"), av = args.Array<float>(1, "acc");
  const size_t dim = (size_t)args.Int(2, "dim", 0, INT32_MAX);
  const auto rv = args.Array<int32_t>(3, "rows");
  const auto gv = args.Array<float>(4, "rowGrad");
  const double lr = args.Num(5, "lr"), eps = args.Num(6, "eps");
  if (!args || !CheckRows(args, rv, tv.length, dim, gv.length, av.length)) return args.Fail();
  float* t = tv.data;
  float* acc = av.data;
  const int32_t* rows = rv.data;
  const size_t nRows = rv.length;
  const float* g = gv.data;
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
