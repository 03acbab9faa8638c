// Data-movement kernels (Transpose, Slice, Tile) on 4-byte elements, up to rank 8: tfjs's CPU
// versions of the non-contiguous cases go through per-element index arithmetic in JS.
#include "engine/engine.h"

#include <cstring>
#include <string>

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

// The arguments every layout kernel shares: x and out (4-byte elements of one type) and the source
// shape (rank <= kMaxRank, dims >= 0). Returns false with the error pending.
struct LayoutArgs {
  View<Word4> x, out;
  View<int32_t> shape;
  size_t xSize = 0;
};
bool ReadLayout(Args& args, LayoutArgs& l) {
  l.x = args.Array<Word4>(0, "x");
  l.out = args.Array<Word4>(1, "out");
  l.shape = args.Array<int32_t>(2, "shape");
  if (!args) return false;
  args.RequireType(l.x.type == l.out.type, "x and out must have the same element type");
  args.Require(l.shape.length <= (size_t)kMaxRank, [&] { return "rank " + std::to_string(l.shape.length) + " > " + std::to_string(kMaxRank); });
  if (!args) return false;
  l.xSize = ShapeSize(l.shape.data, l.shape.length);
  return args.Require(l.xSize != SIZE_MAX, "shape has a negative dim") &&
         args.Require(l.x.length >= l.xSize, [&] { return "x holds " + std::to_string(l.x.length) + " values, shape needs " + std::to_string(l.xSize); });
}
uint32_t* Words(const View<Word4>& v) { return reinterpret_cast<uint32_t*>(v.data); }

// transpose(x, out, shape Int32Array, perm Int32Array)
Napi::Value Transpose(const Napi::CallbackInfo& info) {
  Args args(info, "transpose");
  LayoutArgs l;
  const bool ok = ReadLayout(args, l);
  const auto pv = args.Array<int32_t>(3, "perm");
  if (!ok || !args) return args.Fail();
  const int rank = (int)l.shape.length;
  const int32_t* shape = l.shape.data;
  const int32_t* perm = pv.data;
  args.Require(pv.length == (size_t)rank, "perm must have one entry per dim");
  bool seen[kMaxRank] = {false};
  for (int d = 0; d < rank && args; d++) {
    args.Require(perm[d] >= 0 && perm[d] < rank && !seen[perm[d]], "perm is not a permutation of the dims");
    if (args) seen[perm[d]] = true;
  }
  args.Require(l.out.length >= l.xSize, "out is shorter than x");
  if (!args) return args.Fail();
  int64_t st[kMaxRank] = {0}, dims[kMaxRank] = {0}, ss[kMaxRank] = {0};
  Strides(shape, rank, st);
  for (int d = 0; d < rank; d++) { dims[d] = shape[perm[d]]; ss[d] = st[perm[d]]; }
  StridedCopy(Words(l.x), Words(l.out), rank, dims, ss, 0);
  return info.Env().Undefined();
}

// slice(x, out, shape Int32Array, begin Int32Array, size Int32Array)
Napi::Value Slice(const Napi::CallbackInfo& info) {
  Args args(info, "slice");
  LayoutArgs l;
  const bool ok = ReadLayout(args, l);
  const auto bv = args.Array<int32_t>(3, "begin"), zv = args.Array<int32_t>(4, "size");
  if (!ok || !args) return args.Fail();
  const int rank = (int)l.shape.length;
  const int32_t* shape = l.shape.data;
  const int32_t* begin = bv.data;
  const int32_t* size = zv.data;
  args.Require(bv.length == (size_t)rank && zv.length == (size_t)rank, "begin and size must have one entry per dim");
  for (int d = 0; d < rank && args; d++) {
    args.Require(begin[d] >= 0 && size[d] >= 0 && (int64_t)begin[d] + size[d] <= shape[d], [&] { return "the slice leaves x along dim " + std::to_string(d); });
  }
  if (!args) return args.Fail();
  args.Require(l.out.length >= ShapeSize(size, rank), "out is shorter than the slice");
  if (!args) return args.Fail();
  int64_t st[kMaxRank] = {0}, dims[kMaxRank] = {0};
  Strides(shape, rank, st);
  int64_t base = 0;
  for (int d = 0; d < rank; d++) { dims[d] = size[d]; base += (int64_t)begin[d] * st[d]; }
  StridedCopy(Words(l.x), Words(l.out), rank, dims, st, base);
  return info.Env().Undefined();
}

// tile(x, out, shape Int32Array, reps Int32Array): out dims = shape * reps, viewed as
// [reps0, shape0, reps1, shape1, ...] with source stride 0 on the reps dims.
Napi::Value Tile(const Napi::CallbackInfo& info) {
  Args args(info, "tile");
  LayoutArgs l;
  const bool ok = ReadLayout(args, l);
  const auto rv = args.Array<int32_t>(3, "reps");
  if (!ok || !args) return args.Fail();
  const int rank = (int)l.shape.length;
  const int32_t* shape = l.shape.data;
  const int32_t* reps = rv.data;
  args.Require(rv.length == (size_t)rank, "reps must have one entry per dim");
  if (!args) return args.Fail();
  const size_t nReps = ShapeSize(reps, rank);
  args.Require(nReps != SIZE_MAX && (l.xSize == 0 || nReps <= SIZE_MAX / l.xSize) && l.out.length >= l.xSize * nReps, "out is shorter than the tiled x");
  if (!args) return args.Fail();
  int64_t st[kMaxRank] = {0};
  Strides(shape, rank, st);
  int64_t dims[2 * kMaxRank] = {0}, ss[2 * kMaxRank] = {0};
  for (int d = 0; d < rank; d++) {
    dims[2 * d] = reps[d]; ss[2 * d] = 0;
    dims[2 * d + 1] = shape[d]; ss[2 * d + 1] = st[d];
  }
  // StridedCopy's index array holds 2 × kMaxRank dims
  StridedCopy(Words(l.x), Words(l.out), 2 * rank, dims, ss, 0);
  return info.Env().Undefined();
}

// pad(x, out, shape Int32Array, before Int32Array, outShape Int32Array): writes x into out (already
// filled with the constant) at offset `before` along each dim; out's dims are shape + before + after.
Napi::Value Pad(const Napi::CallbackInfo& info) {
  Args args(info, "pad");
  LayoutArgs l;
  const bool ok = ReadLayout(args, l);
  const auto bv = args.Array<int32_t>(3, "before"), ov = args.Array<int32_t>(4, "outShape");
  if (!ok || !args) return args.Fail();
  const int rank = (int)l.shape.length;
  const int32_t* shape = l.shape.data;
  const int32_t* before = bv.data;
  const int32_t* outShape = ov.data;
  args.Require(bv.length == (size_t)rank && ov.length == (size_t)rank, "before and outShape must have one entry per dim");
  for (int d = 0; d < rank && args; d++) {
    args.Require(before[d] >= 0 && (int64_t)before[d] + shape[d] <= outShape[d], [&] { return "x does not fit in out along dim " + std::to_string(d); });
  }
  if (!args) return args.Fail();
  args.Require(l.out.length >= ShapeSize(outShape, rank), "out is shorter than outShape");
  if (!args) return args.Fail();
  const uint32_t* x = Words(l.x);
  uint32_t* out = Words(l.out);
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
