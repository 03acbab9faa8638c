// Shared declarations of the engine kernels (native/engine/*.cc). Each kernel family registers its
// N-API functions from its own file; kernels.cc calls them all from InitKernels.
#pragma once
#include <napi.h>
#include <cstddef>
#include <cstdint>

namespace cmdcm {

// C[M,N] = op(A)[M,K] · op(B)[K,N] (+ C when accumulate), row-major, single-threaded: parallelism
// comes from the trainer's workers, so a GEMM never spawns threads of its own.
void Sgemm(bool transA, bool transB, int M, int N, int K, const float* A, int lda, const float* B, int ldb,
           float* C, int ldc, bool accumulate);
const char* GemmName();

void InitGemm(Napi::Env env, Napi::Object exports);         // gemm.cc
void InitElementwise(Napi::Env env, Napi::Object exports);  // elementwise.cc
void InitReduce(Napi::Env env, Napi::Object exports);       // reduce.cc
void InitGather(Napi::Env env, Napi::Object exports);       // gather.cc
void InitLayout(Napi::Env env, Napi::Object exports);       // layout.cc

// Zero-copy views of typed-array arguments (the tfjs backend's own buffers).
// napi_get_typedarray_info's data pointer already includes the view's byte offset and, unlike
// Napi::ArrayBuffer, also works for SharedArrayBuffer-backed views.
template <typename T>
inline T* Ptr(const Napi::Value& v) {
  void* data = nullptr;
  size_t len = 0;
  napi_typedarray_type type;
  napi_get_typedarray_info(v.Env(), v, &type, &len, &data, nullptr, nullptr);
  return static_cast<T*>(data);
}
inline size_t Len(const Napi::Value& v) {
  size_t len = 0;
  napi_typedarray_type type;
  napi_get_typedarray_info(v.Env(), v, &type, &len, nullptr, nullptr, nullptr);
  return len;
}
inline int I(const Napi::CallbackInfo& info, int i) { return info[i].As<Napi::Number>().Int32Value(); }
inline double D(const Napi::CallbackInfo& info, int i) { return info[i].As<Napi::Number>().DoubleValue(); }
inline bool B(const Napi::CallbackInfo& info, int i) { return info[i].ToBoolean().Value(); }

}  // namespace cmdcm
