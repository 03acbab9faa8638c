// The argument checks of every addon entry point. The kernels index raw memory, so each one checks
// every argument's type, and every count against the array lengths, before its loop starts: a
// wrong call from JavaScript becomes a TypeError or RangeError, never a read or write out of bounds
// or a crash. The addon is built without C++ exceptions (NODE_ADDON_API_DISABLE_CPP_EXCEPTIONS), so
// a failed check leaves the error pending on the env and the entry point returns undefined.
//
//   Args a(info, "adamDense");
//   const auto p = a.Array<float>(0, "p"), g = a.Array<float>(1, "g");
//   const double lr = a.Num(4, "lr");
//   a.Require(g.length >= p.length, "g must be at least as long as p");
//   if (!a) return a.Fail();
//
// After the first failure every later getter returns an empty value without touching N-API (a call
// with an exception pending would be fatal) and every check passes, so an entry point reads all its
// arguments and tests `a` once before it touches memory.
#pragma once
#include <napi.h>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>

namespace cmdcm {

// The JavaScript name of a typed-array element type (for messages).
inline const char* TypedArrayName(napi_typedarray_type t) {
  switch (t) {
    case napi_int8_array: return "Int8Array";
    case napi_uint8_array: return "Uint8Array";
    case napi_uint8_clamped_array: return "Uint8ClampedArray";
    case napi_int16_array: return "Int16Array";
    case napi_uint16_array: return "Uint16Array";
    case napi_int32_array: return "Int32Array";
    case napi_uint32_array: return "Uint32Array";
    case napi_float32_array: return "Float32Array";
    case napi_float64_array: return "Float64Array";
    case napi_bigint64_array: return "BigInt64Array";
    case napi_biguint64_array: return "BigUint64Array";
  }
  return "typed array";
}

// Any 4-byte element (a float32 or int32 tensor's buffer, which layout kernels copy as words).
struct Word4 {
  uint32_t bits;
};

// The element types an entry point may ask for, and the typed arrays that hold them.
template <typename T> struct ElementOf;
template <> struct ElementOf<float> {
  static bool Is(napi_typedarray_type t) { return t == napi_float32_array; }
  static constexpr const char* kName = "Float32Array";
};
template <> struct ElementOf<double> {
  static bool Is(napi_typedarray_type t) { return t == napi_float64_array; }
  static constexpr const char* kName = "Float64Array";
};
template <> struct ElementOf<int32_t> {
  static bool Is(napi_typedarray_type t) { return t == napi_int32_array; }
  static constexpr const char* kName = "Int32Array";
};
template <> struct ElementOf<uint8_t> {
  static bool Is(napi_typedarray_type t) { return t == napi_uint8_array; }
  static constexpr const char* kName = "Uint8Array";
};
template <> struct ElementOf<int8_t> {
  static bool Is(napi_typedarray_type t) { return t == napi_int8_array; }
  static constexpr const char* kName = "Int8Array";
};
template <> struct ElementOf<Word4> {
  static bool Is(napi_typedarray_type t) { return t == napi_float32_array || t == napi_int32_array; }
  static constexpr const char* kName = "Float32Array or Int32Array";
};

// A typed-array argument: its data (the view's byte offset included; SharedArrayBuffer-backed views
// work too, unlike Napi::ArrayBuffer) and its length in elements.
template <typename T>
struct View {
  T* data = nullptr;
  size_t length = 0;
  napi_typedarray_type type = napi_uint8_array;
};

class Args {
 public:
  Args(const Napi::CallbackInfo& info, const char* fn) : info_(info), env_(info.Env()), fn_(fn) {}

  explicit operator bool() const { return ok_; }
  // What an entry point returns after a failed check (the error is pending).
  Napi::Value Fail() const { return env_.Undefined(); }
  Napi::Env Env() const { return env_; }

  // Argument i as a typed array of element type T (see ElementOf).
  template <typename T>
  View<T> Array(size_t i, const char* name) {
    View<T> v;
    if (!ok_) return v;
    void* data = nullptr;
    // one N-API call: it fails (without throwing) on anything but a typed array
    if (i >= info_.Length() || napi_get_typedarray_info(env_, info_[i], &v.type, &v.length, &data, nullptr, nullptr) != napi_ok) {
      TypeError(std::string("argument ") + name + " must be a " + ElementOf<T>::kName + ", got " + Describe(i));
      return View<T>();
    }
    if (!ElementOf<T>::Is(v.type)) {
      TypeError(std::string("argument ") + name + " must be a " + ElementOf<T>::kName + ", got " + TypedArrayName(v.type));
      return View<T>();
    }
    v.data = static_cast<T*>(data);
    return v;
  }

  // As Array, or an empty view when the argument is missing, undefined or null.
  template <typename T>
  View<T> OptionalArray(size_t i, const char* name) {
    if (!ok_ || i >= info_.Length() || info_[i].IsUndefined() || info_[i].IsNull()) return View<T>();
    return Array<T>(i, name);
  }

  // Out-parameter form of Array, for entry points written as a chain of checks.
  template <typename T>
  bool Typed(size_t i, const char* name, T** data, size_t* length) {
    const View<T> v = Array<T>(i, name);
    *data = v.data;
    *length = v.length;
    return ok_;
  }

  // An integral number in [lo, hi].
  int64_t Int(size_t i, const char* name, int64_t lo, int64_t hi) {
    if (!ok_) return lo;
    double d;
    if (!Double(i, &d)) {
      TypeError(std::string("argument ") + name + " must be a number, got " + Describe(i));
      return lo;
    }
    if (!(d >= static_cast<double>(lo) && d <= static_cast<double>(hi)) || d != std::floor(d)) {
      RangeError(std::string("argument ") + name + " must be an integer in [" + std::to_string(lo) + ", " + std::to_string(hi) +
                 "], got " + Number(d));
      return lo;
    }
    return static_cast<int64_t>(d);
  }
  bool Int(size_t i, const char* name, int64_t lo, int64_t hi, int64_t* out) {
    *out = Int(i, name, lo, hi);
    return ok_;
  }
  // A count or size: an integer in [0, 2^53].
  size_t Size(size_t i, const char* name) { return static_cast<size_t>(Int(i, name, 0, kMaxSafe)); }

  // Any number (NaN and infinities included: a hyperparameter is the caller's business).
  double Num(size_t i, const char* name) {
    if (!ok_) return 0;
    double d;
    if (!Double(i, &d)) {
      TypeError(std::string("argument ") + name + " must be a number, got " + Describe(i));
      return 0;
    }
    return d;
  }

  // Any value, by JavaScript truthiness.
  bool Bool(size_t i) const { return ok_ && i < info_.Length() && info_[i].ToBoolean().Value(); }

  std::string Str(size_t i, const char* name) {
    if (!ok_) return std::string();
    if (i >= info_.Length() || !info_[i].IsString()) {
      TypeError(std::string("argument ") + name + " must be a string, got " + Describe(i));
      return std::string();
    }
    return info_[i].As<Napi::String>().Utf8Value();
  }

  // A RangeError "<fn>: <msg>" unless cond holds (checked only while no error is pending). The
  // message is a string, or a callable that builds it: kernels run thousands of times a step, so a
  // message with numbers in it is only formatted when the check fails.
  bool Require(bool cond, const char* msg) {
    if (ok_ && !cond) RangeError(msg);
    return ok_;
  }
  bool Require(bool cond, const std::string& msg) { return Require(cond, msg.c_str()); }
  template <typename F, typename = decltype(std::declval<F&>()())>
  bool Require(bool cond, F&& msg) {
    if (ok_ && !cond) RangeError(msg());
    return ok_;
  }
  // The same as a TypeError (a wrong kind of value rather than a wrong size).
  bool RequireType(bool cond, const char* msg) {
    if (ok_ && !cond) TypeError(msg);
    return ok_;
  }
  bool RequireType(bool cond, const std::string& msg) { return RequireType(cond, msg.c_str()); }
  template <typename F, typename = decltype(std::declval<F&>()())>
  bool RequireType(bool cond, F&& msg) {
    if (ok_ && !cond) TypeError(msg());
    return ok_;
  }

  void TypeError(const std::string& msg) {
    if (!ok_) return;
    ok_ = false;
    Napi::TypeError::New(env_, std::string(fn_) + ": " + msg).ThrowAsJavaScriptException();
  }
  void RangeError(const std::string& msg) {
    if (!ok_) return;
    ok_ = false;
    Napi::RangeError::New(env_, std::string(fn_) + ": " + msg).ThrowAsJavaScriptException();
  }

  static constexpr int64_t kMaxSafe = int64_t(1) << 53;

 private:
  // one N-API call: it fails (without throwing) on anything but a number
  bool Double(size_t i, double* d) const {
    return i < info_.Length() && napi_get_value_double(env_, info_[i], d) == napi_ok;
  }
  std::string Describe(size_t i) const {
    if (i >= info_.Length() || info_[i].IsUndefined()) return "undefined";
    const Napi::Value v = info_[i];
    if (v.IsNull()) return "null";
    if (v.IsTypedArray()) return TypedArrayName(v.As<Napi::TypedArray>().TypedArrayType());
    if (v.IsString()) return "a string";
    if (v.IsNumber()) return "a number";
    if (v.IsBoolean()) return "a boolean";
    if (v.IsArray()) return "an array";
    if (v.IsFunction()) return "a function";
    return "an object";
  }
  static std::string Number(double d) {
    if (std::isnan(d)) return "NaN";
    if (d == std::floor(d) && std::fabs(d) < 1e15) return std::to_string(static_cast<long long>(d));
    return std::to_string(d);
  }

  const Napi::CallbackInfo& info_;
  Napi::Env env_;
  const char* fn_;
  bool ok_ = true;
};

// A RangeError pending on the env; returns undefined (for checks inside a kernel's loops, where an
// Args is not at hand).
inline Napi::Value ThrowRange(Napi::Env env, const std::string& msg) {
  Napi::RangeError::New(env, msg).ThrowAsJavaScriptException();
  return env.Undefined();
}

// The product of n dims (shape lengths), or SIZE_MAX when it overflows or a dim is negative.
inline size_t ShapeSize(const int32_t* dims, size_t n) {
  size_t p = 1;
  for (size_t i = 0; i < n; i++) {
    if (dims[i] < 0) return SIZE_MAX;
    if (dims[i] != 0 && p > SIZE_MAX / static_cast<size_t>(dims[i])) return SIZE_MAX;
    p *= static_cast<size_t>(dims[i]);
  }
  return p;
}

}  // namespace cmdcm
