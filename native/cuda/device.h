// A device that holds tensors and runs the kernels of native/cuda/kernels: the GPU (driver API,
// cuBLAS; gpu_device.cc) or the CPU shim (host memory, the same kernel sources compiled for the CPU
// and run by a loop over the grid; shim_device.cc). The N-API entry points (cuda.cc) and the tfjs
// backend above them are the same for both, so CI runs everything but the driver calls.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

namespace cmdcm {
namespace cuda {

// The kernels' one parameter block (native/cuda/kernels/common.cuh declares the same layout).
struct KParams {
  unsigned long long ptr[8];
  long long n;
  int32_t i[32];
  float f[4];
};
static_assert(sizeof(KParams) == 216, "KParams must match common.cuh");

class Device {
 public:
  virtual ~Device() = default;
  virtual const char* Kind() const = 0;
  // Each returns "" on success, else a message.
  virtual std::string RawAlloc(size_t bytes, uint64_t* out) = 0;
  virtual void RawFree(uint64_t ptr) = 0;
  virtual std::string Upload(uint64_t dst, const void* src, size_t bytes) = 0;
  virtual std::string Download(void* dst, uint64_t src, size_t bytes) = 0;  // waits for the stream
  virtual std::string Copy(uint64_t dst, uint64_t src, size_t bytes) = 0;
  virtual std::string LoadModule(const void* image) = 0;
  // The id of kernel `name` (an index into the device's function table), or -1 with *why set.
  virtual int Function(const std::string& name, std::string* why) = 0;
  virtual size_t FunctionCount() const = 0;
  virtual std::string Launch(int fn, unsigned grid, unsigned block, const KParams& p) = 0;
  // Row-major C[b] = op(A[b]) · op(B[b]) for b < batch; strides in floats (0: broadcast).
  virtual std::string Gemm(uint64_t a, uint64_t b, uint64_t c, int batch, int M, int N, int K, bool tA, bool tB,
                           long long strideA, long long strideB) = 0;
  virtual std::string Sync() = 0;
  // The device's name and compute capability (0.0 for the shim) and its memory in bytes.
  virtual void Describe(std::string* name, int* major, int* minor, size_t* totalMem) = 0;

  // A caching allocator over RawAlloc (cuMemAlloc synchronizes and costs ~10 µs; a step allocates
  // hundreds of tensors): freed blocks go to a free list by rounded size, reused in stream order.
  std::string Alloc(size_t bytes, uint64_t* out);
  void Free(uint64_t ptr);
  void ReleaseCached();
  // The size asked for of the live allocation that starts at ptr, or 0 when ptr is not one.
  size_t SizeOf(uint64_t ptr) const {
    auto it = live_.find(ptr);
    return it == live_.end() ? 0 : it->second.asked;
  }
  size_t LiveBytes() const { return liveBytes_; }
  size_t CachedBytes() const { return cachedBytes_; }
  size_t LiveCount() const { return live_.size(); }

 protected:
  void ReleaseAll();

 private:
  struct Block {
    size_t rounded, asked;
  };
  std::unordered_map<uint64_t, Block> live_;
  std::unordered_map<size_t, std::vector<uint64_t>> freeLists_;  // rounded size -> blocks
  size_t liveBytes_ = 0, cachedBytes_ = 0;
};

// Rounded block size: powers of two up to 1 MiB, then whole MiB.
size_t RoundSize(size_t bytes);

std::unique_ptr<Device> MakeShimDevice();
// ordinal among the visible devices; null with *why on failure (no driver, no device, no NVRTC...).
std::unique_ptr<Device> MakeGpuDevice(int ordinal, std::string* why);
// NVRTC: compiles `source` for compute capability major.minor; returns a CUBIN (or PTX when this
// NVRTC cannot emit the GPU's CUBIN) in *image, or "" with *why.
bool CompileKernels(const std::string& source, int major, int minor, std::vector<char>* image, std::string* kind, std::string* why);

}  // namespace cuda
}  // namespace cmdcm
