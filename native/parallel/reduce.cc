// The data-parallel trainer's reduce-scatter (src/parallel/reduce.ts is the reference): a worker
// sums its slice of every worker's dense gradient and applies Adam to it, and combines the embedding
// rows it owns over every worker's touched rows and applies the row optimizer once — each in one
// native pass over shared memory, with no intermediate arrays. Sums run in worker order 0…W-1 in
// float32, as the reference's Float32Array accumulation does, so both agree bit for bit.
#include <algorithm>
#include <string>
#include <vector>

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

namespace cmdcm {
namespace {

// reduceDenseAdam(grads, p, workers, lo, hi, params, m, v, lr, beta1, beta2, eps, step):
// params[lo, hi) ← Adam(Σ_u grads[u·p + i]); params, m and v are the whole vectors.
Napi::Value ReduceDenseAdam(const Napi::CallbackInfo& info) {
  Args args(info, "reduceDenseAdam");
  const auto gv = args.Array<float>(0, "grads");
  const size_t p = args.Size(1, "p"), W = args.Size(2, "workers"), lo = args.Size(3, "lo"), hi = args.Size(4, "hi");
  const auto pv = args.Array<float>(5, "params"), mv = args.Array<float>(6, "m"), vv = args.Array<float>(7, "v");
  const double lr = args.Num(8, "lr"), b1 = args.Num(9, "beta1"), b2 = args.Num(10, "beta2"), eps = args.Num(11, "eps"), step = args.Num(12, "step");
  args.Require(lo <= hi && hi <= p, [&] { return "slice [" + std::to_string(lo) + ", " + std::to_string(hi) + ") outside the " + std::to_string(p) + " parameters"; });
  args.Require(gv.length >= W * p, [&] { return "grads holds " + std::to_string(gv.length) + " values, workers × p needs " + std::to_string(W * p); });
  args.Require(pv.length >= hi && mv.length >= hi && vv.length >= hi, "params, m and v must hold the slice");
  if (!args) return args.Fail();
  const float* grads = gv.data;
  float* params = pv.data;
  float* m = mv.data;
  float* v = vv.data;
  const AdamCoef c = AdamCoef::Make(lr, b1, b2, eps, step);
  // the summed gradient of a cache-sized block at a time
  constexpr size_t kBlock = 2048;
  float g[kBlock];
  for (size_t b = lo; b < hi; b += kBlock) {
    const size_t n = std::min(kBlock, hi - b);
    std::copy(grads + b, grads + b + n, g);
    for (size_t u = 1; u < W; u++) {
      const float* gu = grads + u * p + b;
      for (size_t i = 0; i < n; i++) g[i] += gu[i];
    }
    AdamUpdate(c, params + b, m + b, v + b, g, n);
  }
  return info.Env().Undefined();
}

// reduceOwnedRows(workers, w, counts, rowIdx, rowGrad, cap, dim, table, m, v, optimizer, lr, beta1, beta2, eps, step):
// merges every worker's touched rows (each list ascending, unique), keeps those with row % workers
// == w, sums their gradients over workers and applies the table optimizer once per row: 'lazyAdam'
// (m, v the moments) or 'adagrad' (m the accumulator, v unused), named as TrainConfig.tableOptimizer
// names it. Returns the number of rows applied.
Napi::Value ReduceOwnedRows(const Napi::CallbackInfo& info) {
  Args args(info, "reduceOwnedRows");
  const size_t W = args.Size(0, "workers"), w = args.Size(1, "w");
  const auto cv = args.Array<int32_t>(2, "counts"), iv = args.Array<int32_t>(3, "rowIdx");
  const auto gv = args.Array<float>(4, "rowGrad");
  const size_t cap = args.Size(5, "cap"), dim = args.Size(6, "dim");
  const auto tv = args.Array<float>(7, "table"), mv = args.Array<float>(8, "m"), vv = args.Array<float>(9, "v");
  const std::string optimizer = args.Str(10, "optimizer");
  const double lr = args.Num(11, "lr"), b1 = args.Num(12, "beta1"), b2 = args.Num(13, "beta2"), eps = args.Num(14, "eps"), step = args.Num(15, "step");
  args.RequireType(optimizer == "lazyAdam" || optimizer == "adagrad" || !args, "optimizer must be 'lazyAdam' or 'adagrad'");
  const bool adam = optimizer == "lazyAdam";
  args.Require(W > 0 && w < W, [&] { return "worker " + std::to_string(w) + " of " + std::to_string(W); });
  args.Require(cv.length >= W && iv.length >= W * cap && gv.length >= W * cap * dim, "counts, rowIdx or rowGrad smaller than workers × cap");
  if (!args) return args.Fail();
  const int32_t* counts = cv.data;
  const int32_t* rowIdx = iv.data;
  const float* rowGrad = gv.data;
  float* table = tv.data;
  float* m = mv.data;
  float* v = vv.data;
  const size_t tableRows = std::min(tv.length, std::min(mv.length, adam ? vv.length : mv.length)) / (dim ? dim : 1);
  // (messages built only on failure: these loops visit every published row)
  for (size_t u = 0; u < W; u++) {
    if (counts[u] < 0 || (size_t)counts[u] > cap) {
      args.RangeError("worker " + std::to_string(u) + " published " + std::to_string(counts[u]) + " rows, the capacity is " + std::to_string(cap));
      return args.Fail();
    }
    for (int32_t k = 0; k < counts[u]; k++) {
      const int32_t r = rowIdx[u * cap + k];
      if (r < 0 || (size_t)r >= tableRows) {
        args.RangeError("row " + std::to_string(r) + " outside the table's " + std::to_string(tableRows) + " rows");
        return args.Fail();
      }
      if (k > 0 && r <= rowIdx[u * cap + k - 1]) {
        args.RangeError("worker " + std::to_string(u) + "'s rows are not ascending and unique");
        return args.Fail();
      }
    }
  }
  const AdamCoef c = AdamCoef::Make(lr, b1, b2, eps, step);
  std::vector<size_t> pos(W, 0);
  std::vector<float> g(dim);
  const auto skip = [&](size_t u) {
    size_t k = pos[u];
    while (k < (size_t)counts[u] && (size_t)rowIdx[u * cap + k] % W != w) k++;
    pos[u] = k;
  };
  for (size_t u = 0; u < W; u++) skip(u);
  size_t n = 0;
  for (;;) {
    int64_t r = -1;
    for (size_t u = 0; u < W; u++) {
      if (pos[u] < (size_t)counts[u]) {
        const int64_t x = rowIdx[u * cap + pos[u]];
        if (r < 0 || x < r) r = x;
      }
    }
    if (r < 0) break;
    bool first = true;
    for (size_t u = 0; u < W; u++) {
      const size_t k = pos[u];
      if (k < (size_t)counts[u] && rowIdx[u * cap + k] == r) {
        const float* gu = rowGrad + (u * cap + k) * dim;
        if (first) std::copy(gu, gu + dim, g.begin());
        else for (size_t j = 0; j < dim; j++) g[j] += gu[j];
        first = false;
        pos[u] = k + 1;
        skip(u);
      }
    }
    const size_t base = (size_t)r * dim;
    if (adam) AdamUpdate(c, table + base, m + base, v + base, g.data(), dim);
    else AdagradUpdate(lr, eps, table + base, m + base, g.data(), dim);
    n++;
  }
  return Napi::Number::New(info.Env(), (double)n);
}

// firstNonFinite(a): index of the first NaN or ±Inf in a Float32Array, or -1. A gradient is checked
// every step before it is shared; this scans ~10⁶ values in a fraction of a millisecond.
Napi::Value FirstNonFinite(const Napi::CallbackInfo& info) {
  Args args(info, "firstNonFinite");
  const auto a = args.Array<float>(0, "a");
  if (!args) return args.Fail();
  const uint32_t* bits = reinterpret_cast<const uint32_t*>(a.data);
  const size_t n = a.length;
  constexpr uint32_t kExp = 0x7f800000u;  // all exponent bits set: Inf or NaN
  constexpr size_t kBlock = 1024;
  for (size_t b = 0; b < n; b += kBlock) {
    const size_t e = std::min(n, b + kBlock);
    uint32_t any = 0;
    // branch-free over a block (vectorizes), then locate within the block only when it has one
    for (size_t i = b; i < e; i++) any |= (uint32_t)((bits[i] & kExp) == kExp);
    if (any) {
      for (size_t i = b; i < e; i++) if ((bits[i] & kExp) == kExp) return Napi::Number::New(info.Env(), (double)i);
    }
  }
  return Napi::Number::New(info.Env(), -1);
}

}  // namespace

void InitParallelReduce(Napi::Env env, Napi::Object exports) {
  exports.Set("reduceDenseAdam", Napi::Function::New(env, ReduceDenseAdam, "reduceDenseAdam"));
  exports.Set("reduceOwnedRows", Napi::Function::New(env, ReduceOwnedRows, "reduceOwnedRows"));
  exports.Set("firstNonFinite", Napi::Function::New(env, FirstNonFinite, "firstNonFinite"));
}

}  // namespace cmdcm
