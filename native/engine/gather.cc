// Embedding-style kernels: GatherV2 (any axis, batchDims 0) and UnsortedSegmentSum, the gradient of
// a gather. Both cost O(indices × row width): unlike tfjs's CPU UnsortedSegmentSum, which compares
// every segment id against every row, no kernel here visits rows that no index touches.
#include "engine/engine.h"

#include <cstring>
#include <string>

namespace cmdcm {
namespace {

// gather(x, indices Int32Array, out, outer, axisSize, inner): out[o, i, :] = x[o, idx[i], :].
// x and out are any 4-byte typed arrays (float32 or int32 tensors).
Napi::Value Gather(const Napi::CallbackInfo& info) {
  Args args(info, "gather");
  const auto xv = args.Array<Word4>(0, "x");
  const auto iv = args.Array<int32_t>(1, "indices");
  const auto ov = args.Array<Word4>(2, "out");
  const size_t outer = args.Size(3, "outer"), axis = args.Size(4, "axisSize"), inner = args.Size(5, "inner");
  if (!args) return args.Fail();
  const size_t nIdx = iv.length;
  args.RequireType(xv.type == ov.type, "x and out must have the same element type");
  args.Require(xv.length >= outer * axis * inner, [&] { return "x holds " + std::to_string(xv.length) + " values, outer × axisSize × inner needs " + std::to_string(outer * axis * inner); });
  args.Require(ov.length >= outer * nIdx * inner, [&] { return "out holds " + std::to_string(ov.length) + " values, outer × indices × inner needs " + std::to_string(outer * nIdx * inner); });
  if (!args) return args.Fail();
  const uint32_t* x = reinterpret_cast<const uint32_t*>(xv.data);
  const int32_t* idx = iv.data;
  uint32_t* o = reinterpret_cast<uint32_t*>(ov.data);
  for (size_t i = 0; i < nIdx; i++) {
    if (idx[i] < 0 || (size_t)idx[i] >= axis) {
      args.RangeError("GatherV2: the index value " + std::to_string(idx[i]) + " is not in [0, " +
                                            std::to_string((long long)axis - 1) + "]");
      return args.Fail();
    }
  }
  for (size_t p = 0; p < outer; p++) {
    const uint32_t* xp = x + p * axis * inner;
    uint32_t* op = o + p * nIdx * inner;
    if (inner == 1) {
      for (size_t i = 0; i < nIdx; i++) op[i] = xp[idx[i]];
    } else {
      for (size_t i = 0; i < nIdx; i++) std::memcpy(op + i * inner, xp + (size_t)idx[i] * inner, inner * 4);
    }
  }
  return info.Env().Undefined();
}

// segmentSum(x, ids Int32Array, out (zeroed), numSegments, inner): out[ids[i], :] += x[i, :];
// ids outside [0, numSegments) contribute nothing, as in tfjs.
Napi::Value SegmentSum(const Napi::CallbackInfo& info) {
  Args args(info, "segmentSum");
  const auto xv = args.Array<float>(0, "x");
  const auto iv = args.Array<int32_t>(1, "ids");
  const auto ov = args.Array<float>(2, "out");
  const long long segs = (long long)args.Size(3, "numSegments");
  const size_t inner = args.Size(4, "inner");
  const size_t n = iv.length;
  args.Require(xv.length >= n * inner, [&] { return "x holds " + std::to_string(xv.length) + " values, ids × inner needs " + std::to_string(n * inner); });
  args.Require(ov.length >= (size_t)segs * inner, [&] { return "out holds " + std::to_string(ov.length) + " values, numSegments × inner needs " + std::to_string((size_t)segs * inner); });
  if (!args) return args.Fail();
  const float* x = xv.data;
  const int32_t* ids = iv.data;
  float* o = ov.data;
  for (size_t i = 0; i < n; i++) {
    const long long s = ids[i];
    if (s < 0 || s >= segs) continue;
    float* dst = o + (size_t)s * inner;
    const float* src = x + i * inner;
    for (size_t j = 0; j < inner; j++) dst[j] += src[j];
  }
  return info.Env().Undefined();
}

}  // namespace

void InitGather(Napi::Env env, Napi::Object exports) {
  exports.Set("gather", Napi::Function::New(env, Gather, "gather"));
  exports.Set("segmentSum", Napi::Function::New(env, SegmentSum, "segmentSum"));
}

}  // namespace cmdcm
