// Batch assembly: copies the rows `idx` of a row-major column into a contiguous batch column
// (src/features/gather.ts; the TypeScript row copy is copyRowsTS in src/data/batch.ts). One call per
// column instead of a subarray + set per row and column on the JS side.
#include <cstring>
#include <string>

#include "addon.h"
#include "args.h"

namespace cmdcm {
namespace {

// gatherRows(src: TypedArray, width, idx: Int32Array, dst: TypedArray of src's type) -> dst
Napi::Value GatherRows(const Napi::CallbackInfo& info) {
  Args args(info, "gatherRows");
  Napi::Env env = info.Env();
  if (info.Length() < 4 || !info[0].IsTypedArray() || !info[3].IsTypedArray()) {
    args.TypeError("src and dst must be typed arrays");
    return args.Fail();
  }
  Napi::TypedArray src = info[0].As<Napi::TypedArray>(), dst = info[3].As<Napi::TypedArray>();
  if (src.TypedArrayType() != dst.TypedArrayType()) {
    args.TypeError("src and dst must have the same element type");
    return args.Fail();
  }
  int64_t width;
  if (!args.Int(1, "width", 1, INT32_MAX, &width)) return env.Undefined();
  int32_t* idx;
  size_t n;
  if (!args.Typed(2, "idx", &idx, &n)) return env.Undefined();
  const size_t elem = src.ElementSize();
  const size_t rows = src.ElementLength() / static_cast<size_t>(width);
  if (dst.ElementLength() < n * static_cast<size_t>(width)) {
    args.RangeError("dst is shorter than idx.length × width");
    return args.Fail();
  }
  for (size_t i = 0; i < n; i++) {
    if (idx[i] < 0 || static_cast<size_t>(idx[i]) >= rows) {
      args.RangeError("idx[" + std::to_string(i) + "] = " + std::to_string(idx[i]) +
                                     " is not a row of src (" + std::to_string(rows) + " rows)");
      return args.Fail();
    }
  }
  // napi_get_typedarray_info's pointer includes the view's offset and also works for views of a
  // SharedArrayBuffer (the parallel trainer's shards), where ArrayBuffer() would not.
  void *sp, *dp;
  napi_get_typedarray_info(env, src, nullptr, nullptr, &sp, nullptr, nullptr);
  napi_get_typedarray_info(env, dst, nullptr, nullptr, &dp, nullptr, nullptr);
  const uint8_t* s = static_cast<const uint8_t*>(sp);
  uint8_t* d = static_cast<uint8_t*>(dp);
  const size_t rowBytes = static_cast<size_t>(width) * elem;
  if (rowBytes == 4) {
    // Width-1 int32/float32 columns (user, item, time, ...): a plain element copy.
    for (size_t i = 0; i < n; i++) std::memcpy(d + i * 4, s + static_cast<size_t>(idx[i]) * 4, 4);
  } else {
    for (size_t i = 0; i < n; i++) std::memcpy(d + i * rowBytes, s + static_cast<size_t>(idx[i]) * rowBytes, rowBytes);
  }
  return info[3];
}

}  // namespace

void RegisterGather(Napi::Env env, Napi::Object exports) {
  exports.Set("gatherRows", Napi::Function::New(env, GatherRows, "gatherRows"));
}
}  // namespace cmdcm
