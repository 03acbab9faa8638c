#include "addon.h"

namespace cmdcm {
void InitHashing(Napi::Env env, Napi::Object exports) {}
}  // namespace cmdcm
