#include "addon.h"

namespace cmdcm {
void InitOptim(Napi::Env env, Napi::Object exports) {}
}  // namespace cmdcm
