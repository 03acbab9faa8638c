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
  const uint32_t* x = Ptr<uint32_t>(info[0]);
  const int32_t* idx = Ptr<int32_t>(info[1]);
  const size_t nIdx = Len(info[1]);
  uint32_t* o = Ptr<uint32_t>(info[2]);
  const size_t outer = (size_t)D(info, 3), axis = (size_t)D(info, 4), inner = (size_t)D(info, 5);
  for (size_t i = 0; i < nIdx; i++) {
    if (idx[i] < 0 || (size_t)idx[i] >= axis) {
      Napi::RangeError::New(info.Env(), "GatherV2: the index value " + std::to_string(idx[i]) + " is not in [0, " +
                                            std::to_string((long long)axis - 1) + "]")
          .ThrowAsJavaScriptException();
      return info.Env().Undefined();
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
  const float* x = Ptr<float>(info[0]);
  const int32_t* ids = Ptr<int32_t>(info[1]);
  const size_t n = Len(info[1]);
  float* o = Ptr<float>(info[2]);
  const long long segs = (long long)D(info, 3);
  const size_t inner = (size_t)D(info, 4);
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
