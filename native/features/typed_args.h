// Argument checks shared by the feature kernels. The kernels index raw memory, so every array is
// checked for its element type and every count against the array lengths before the loop starts:
// a wrong call must become a JS exception, never a read or write out of bounds.
#pragma once
#include <napi.h>

#include <cstdint>
#include <string>

namespace cmdcm {
namespace args {

// Returns false (with a pending TypeError naming the argument) unless info[i] is a typed array of
// the element type T.
template <typename T>
bool Typed(const Napi::CallbackInfo& info, size_t i, const char* name, napi_typedarray_type want,
           T** data, size_t* length) {
  Napi::Env env = info.Env();
  if (info.Length() <= i || !info[i].IsTypedArray() ||
      info[i].As<Napi::TypedArray>().TypedArrayType() != want) {
    Napi::TypeError::New(env, std::string("argument ") + name + " must be a " +
                                  (want == napi_int32_array ? "Int32Array" : "Uint8Array"))
        .ThrowAsJavaScriptException();
    return false;
  }
  Napi::TypedArrayOf<T> a = info[i].As<Napi::TypedArrayOf<T>>();
  *data = a.Data();
  *length = a.ElementLength();
  return true;
}

// An integral number argument within [lo, hi].
inline bool Int(const Napi::CallbackInfo& info, size_t i, const char* name, int64_t lo, int64_t hi,
                int64_t* out) {
  Napi::Env env = info.Env();
  if (info.Length() <= i || !info[i].IsNumber()) {
    Napi::TypeError::New(env, std::string("argument ") + name + " must be a number").ThrowAsJavaScriptException();
    return false;
  }
  double d = info[i].As<Napi::Number>().DoubleValue();
  if (!(d >= static_cast<double>(lo) && d <= static_cast<double>(hi)) || d != static_cast<double>(static_cast<int64_t>(d))) {
    Napi::RangeError::New(env, std::string("argument ") + name + " must be an integer in [" + std::to_string(lo) +
                                   ", " + std::to_string(hi) + "], got " + std::to_string(d))
        .ThrowAsJavaScriptException();
    return false;
  }
  *out = static_cast<int64_t>(d);
  return true;
}

}  // namespace args
}  // namespace cmdcm
