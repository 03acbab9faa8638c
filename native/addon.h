// Each concern of the addon registers its functions on the exports object from its own file.
#pragma once
#include <napi.h>

#include "args.h"

namespace cmdcm {

void InitHashing(Napi::Env env, Napi::Object exports);   // native/features/hashing.cc
void InitPacking(Napi::Env env, Napi::Object exports);   // native/features/packing.cc
void InitKernels(Napi::Env env, Napi::Object exports);   // native/engine/*.cc
void InitOptim(Napi::Env env, Napi::Object exports);     // native/engine/optim.cc
void InitShm(Napi::Env env, Napi::Object exports);       // native/parallel/shm.cc
void InitParallelReduce(Napi::Env env, Napi::Object exports); // native/parallel/reduce.cc
void InitData(Napi::Env env, Napi::Object exports);      // native/data/*.cc
void InitEmbedding(Napi::Env env, Napi::Object exports); // native/model/embedding.cc
void InitCuda(Napi::Env env, Napi::Object exports);      // native/cuda/cuda.cc (the cuda engine)
}  // namespace cmdcm
