// The devices' caching allocator (device.h).
#include "cuda/device.h"

namespace cmdcm {
namespace cuda {

size_t RoundSize(size_t bytes) {
  if (bytes <= 256) return 256;
  const size_t mib = size_t(1) << 20;
  if (bytes > mib) return (bytes + mib - 1) / mib * mib;
  size_t s = 512;
  while (s < bytes) s <<= 1;
  return s;
}

std::string Device::Alloc(size_t bytes, uint64_t* out) {
  const size_t size = RoundSize(bytes);
  auto it = freeLists_.find(size);
  if (it != freeLists_.end() && !it->second.empty()) {
    *out = it->second.back();
    it->second.pop_back();
    cachedBytes_ -= size;
  } else {
    std::string err = RawAlloc(size, out);
    if (!err.empty()) {
      // out of memory with blocks cached: give them back and try once more
      if (cachedBytes_ == 0) return err;
      ReleaseCached();
      err = RawAlloc(size, out);
      if (!err.empty()) return err;
    }
  }
  live_[*out] = Block{size, bytes};
  liveBytes_ += size;
  return "";
}

void Device::Free(uint64_t ptr) {
  auto it = live_.find(ptr);
  if (it == live_.end()) return;
  const size_t size = it->second.rounded;
  live_.erase(it);
  liveBytes_ -= size;
  freeLists_[size].push_back(ptr);
  cachedBytes_ += size;
}

void Device::ReleaseCached() {
  Sync();
  for (auto& kv : freeLists_)
    for (uint64_t p : kv.second) RawFree(p);
  freeLists_.clear();
  cachedBytes_ = 0;
}

void Device::ReleaseAll() {
  ReleaseCached();
  for (auto& kv : live_) RawFree(kv.first);
  live_.clear();
  liveBytes_ = 0;
}

}  // namespace cuda
}  // namespace cmdcm
