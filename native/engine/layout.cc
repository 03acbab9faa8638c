// Data-movement kernels (Transpose, Slice, Tile) on 4-byte elements, up to rank 8: tfjs's CPU
// versions of the non-contiguous cases go through per-element index arithmetic in JS.
#include "engine/engine.h"

#include <cstring>

namespace cmdcm {
namespace {

constexpr int kMaxRank = 8;

// Walks the output in row-major order; `srcStride[d]` is the source step for output dim d and the
// innermost dim is copied as a run when its source stride is 1.
void StridedCopy(const uint32_t* src, uint32_t* dst, int rank, const int64_t* dims, const int64_t* srcStride, int64_t base) {
  if (rank == 0) { dst[0] = src[base]; return; }
  for (int d = 0; d < rank; d++) if (dims[d] == 0) return;
  const int last = rank - 1;
  const int64_t n = dims[last], s = srcStride[last];
  int64_t outer = 1;
  for (int d = 0; d < last; d++) outer *= dims[d];
  int64_t idx[2 * kMaxRank] = {0};
  int64_t off = base;
  for (int64_t r = 0; r < outer; r++) {
    uint32_t* o = dst + r * n;
    if (s == 1) std::memcpy(o, src + off, n * 4);
    else for (int64_t i = 0; i < n; i++) o[i] = src[off + i * s];
    for (int d = last - 1; d >= 0; d--) {
      idx[d]++;
      off += srcStride[d];
      if (idx[d] < dims[d]) break;
      off -= srcStride[d] * dims[d];
      idx[d] = 0;
    }
  }
}

void Strides(const int32_t* shape, int rank, int64_t* st) {
  int64_t s = 1;
  for (int d = rank - 1; d >= 0; d--) { st[d] = s; s *= shape[d]; }
}

// transpose(x, out, shape Int32Array, perm Int32Array)
Napi::Value Transpose(const Napi::CallbackInfo& info) {
  const int32_t* shape = Ptr<int32_t>(info[2]);
  const int32_t* perm = Ptr<int32_t>(info[3]);
  const int rank = (int)Len(info[2]);
  int64_t st[kMaxRank], dims[kMaxRank], ss[kMaxRank];
  Strides(shape, rank, st);
  for (int d = 0; d < rank; d++) { dims[d] = shape[perm[d]]; ss[d] = st[perm[d]]; }
  StridedCopy(Ptr<uint32_t>(info[0]), Ptr<uint32_t>(info[1]), rank, dims, ss, 0);
  return info.Env().Undefined();
}

// slice(x, out, shape Int32Array, begin Int32Array, size Int32Array)
Napi::Value Slice(const Napi::CallbackInfo& info) {
  const int32_t* shape = Ptr<int32_t>(info[2]);
  const int32_t* begin = Ptr<int32_t>(info[3]);
  const int32_t* size = Ptr<int32_t>(info[4]);
  const int rank = (int)Len(info[2]);
  int64_t st[kMaxRank], dims[kMaxRank];
  Strides(shape, rank, st);
  int64_t base = 0;
  for (int d = 0; d < rank; d++) { dims[d] = size[d]; base += (int64_t)begin[d] * st[d]; }
  StridedCopy(Ptr<uint32_t>(info[0]), Ptr<uint32_t>(info[1]), rank, dims, st, base);
  return info.Env().Undefined();
}

// tile(x, out, shape Int32Array, reps Int32Array): out dims = shape * reps, viewed as
// [reps0, shape0, reps1, shape1, ...] with source stride 0 on the reps dims.
Napi::Value Tile(const Napi::CallbackInfo& info) {
  const int32_t* shape = Ptr<int32_t>(info[2]);
  const int32_t* reps = Ptr<int32_t>(info[3]);
  const int rank = (int)Len(info[2]);
  if (rank > kMaxRank) return info.Env().Undefined();
  int64_t st[kMaxRank];
  Strides(shape, rank, st);
  int64_t dims[2 * kMaxRank], ss[2 * kMaxRank];
  for (int d = 0; d < rank; d++) {
    dims[2 * d] = reps[d]; ss[2 * d] = 0;
    dims[2 * d + 1] = shape[d]; ss[2 * d + 1] = st[d];
  }
  // StridedCopy's index array holds kMaxRank dims; a doubled rank above that is split by the TS side.
  StridedCopy(Ptr<uint32_t>(info[0]), Ptr<uint32_t>(info[1]), 2 * rank, dims, ss, 0);
  return info.Env().Undefined();
}

// pad(x, out, shape Int32Array, before Int32Array): writes x into out (already filled with the
// constant) at offset `before` along each dim; out's dims are shape + before + after.
Napi::Value Pad(const Napi::CallbackInfo& info) {
  const uint32_t* x = Ptr<uint32_t>(info[0]);
  uint32_t* out = Ptr<uint32_t>(info[1]);
  const int32_t* shape = Ptr<int32_t>(info[2]);
  const int32_t* before = Ptr<int32_t>(info[3]);
  const int32_t* outShape = Ptr<int32_t>(info[4]);
  const int rank = (int)Len(info[2]);
  if (rank == 0) { out[0] = x[0]; return info.Env().Undefined(); }
  for (int d = 0; d < rank; d++) if (shape[d] == 0) return info.Env().Undefined();
  int64_t ost[kMaxRank];
  Strides(outShape, rank, ost);
  int64_t base = 0;
  for (int d = 0; d < rank; d++) base += (int64_t)before[d] * ost[d];
  const int last = rank - 1;
  const int64_t n = shape[last];
  int64_t outer = 1;
  for (int d = 0; d < last; d++) outer *= shape[d];
  int64_t idx[kMaxRank] = {0};
  int64_t off = base;
  for (int64_t r = 0; r < outer; r++) {
    std::memcpy(out + off, x + r * n, n * 4);
    for (int d = last - 1; d >= 0; d--) {
      idx[d]++;
      off += ost[d];
      if (idx[d] < shape[d]) break;
      off -= ost[d] * shape[d];
      idx[d] = 0;
    }
  }
  return info.Env().Undefined();
}

}  // namespace

void InitLayout(Napi::Env env, Napi::Object exports) {
  exports.Set("transpose", Napi::Function::New(env, Transpose, "transpose"));
  exports.Set("slice", Napi::Function::New(env, Slice, "slice"));
  exports.Set("pad", Napi::Function::New(env, Pad, "pad"));
  exports.Set("tile", Napi::Function::New(env, Tile, "tile"));
}

}  // namespace cmdcm
