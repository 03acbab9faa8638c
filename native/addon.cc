// Module entry. NODE_API_MODULE with node-addon-api is context-aware: every worker thread loads
// its own instance, and no file here keeps per-process mutable globals.
#include "addon.h"

static Napi::Object Init(Napi::Env env, Napi::Object exports) {
  cmdcm::InitHashing(env, exports);
  cmdcm::InitPacking(env, exports);
  cmdcm::InitKernels(env, exports);
  cmdcm::InitOptim(env, exports);
  cmdcm::InitShm(env, exports);
  cmdcm::InitParallelReduce(env, exports);
  cmdcm::InitData(env, exports);
  cmdcm::InitEmbedding(env, exports);
  cmdcm::InitCuda(env, exports);
  return exports;
}

NODE_API_MODULE(cmdcm, Init)
