// Entry point of the compute-engine kernels: every family (GEMM, element-wise, reductions,
// gather/segment-sum, layout) registers its functions from its own file.
#include "addon.h"
#include "engine/engine.h"

namespace cmdcm {
void InitKernels(Napi::Env env, Napi::Object exports) {
  InitGemm(env, exports);
  InitElementwise(env, exports);
  InitReduce(env, exports);
  InitGather(env, exports);
  InitLayout(env, exports);
}
}  // namespace cmdcm
