#include "addon.h"

namespace cmdcm {
void InitShm(Napi::Env env, Napi::Object exports) {}
}  // namespace cmdcm
