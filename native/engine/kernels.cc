#include "addon.h"

namespace cmdcm {
void InitKernels(Napi::Env env, Napi::Object exports) {}
}  // namespace cmdcm
