#include "addon.h"

namespace cmdcm {
void InitPacking(Napi::Env env, Napi::Object exports) {}
}  // namespace cmdcm
