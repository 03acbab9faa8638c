// Shared declarations of the engine kernels (native/engine/*.cc). Each kernel family registers its
// N-API functions from its own file; kernels.cc calls them all from InitKernels.
#pragma once
#include <napi.h>

#include "args.h"
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

}  // namespace cmdcm
