// The CPU shim device: host memory, the kernels of native/cuda/kernels compiled for the CPU through
// shim.h and run by a loop over the grid, GEMM by the native engine's sgemm. The same N-API entry
// points and tfjs backend drive it as the GPU, so CI tests every kernel and the backend's logic.
#include <cstdlib>
#include <cstring>
#include <string>

#include "cuda/device.h"
#include "cuda/shim.h"
#include "engine/engine.h"

namespace cmdcm {
namespace cuda {
namespace shim {
#include "cuda/kernels/elementwise.cu"
#include "cuda/kernels/gather.cu"
#include "cuda/kernels/layout.cu"
#include "cuda/kernels/reduce.cu"
static_assert(sizeof(KParams) == sizeof(cuda::KParams), "shim KParams layout");
}  // namespace shim

namespace {

using KernelFn = void (*)(shim::KParams);

struct Entry {
  const char* name;
  KernelFn fn;
};
// Every kernel of native/cuda/kernels; a kernel missing here fails its first launch by name.
const Entry kKernels[] = {
    {"cm_binary", shim::cm_binary}, {"cm_unary", shim::cm_unary},     {"cm_select", shim::cm_select},
    {"cm_cast", shim::cm_cast},     {"cm_fill", shim::cm_fill},       {"cm_bias_act", shim::cm_bias_act},
    {"cm_reduce", shim::cm_reduce}, {"cm_argminmax", shim::cm_argminmax}, {"cm_softmax", shim::cm_softmax},
    {"cm_gather", shim::cm_gather}, {"cm_segment_sum", shim::cm_segment_sum}, {"cm_strided", shim::cm_strided},
    {"cm_tile", shim::cm_tile},     {"cm_pad", shim::cm_pad},         {"cm_copy2d", shim::cm_copy2d},
};

class ShimDevice : public Device {
 public:
  ~ShimDevice() override { ReleaseAll(); }
  const char* Kind() const override { return "shim"; }
  std::string RawAlloc(size_t bytes, uint64_t* out) override {
    void* p = std::aligned_alloc(256, bytes);
    if (!p) return "out of host memory allocating " + std::to_string(bytes) + " bytes";
    *out = reinterpret_cast<uint64_t>(p);
    return "";
  }
  void RawFree(uint64_t ptr) override { std::free(reinterpret_cast<void*>(ptr)); }
  std::string Upload(uint64_t dst, const void* src, size_t bytes) override {
    if (bytes) std::memcpy(reinterpret_cast<void*>(dst), src, bytes);
    return "";
  }
  std::string Download(void* dst, uint64_t src, size_t bytes) override {
    if (bytes) std::memcpy(dst, reinterpret_cast<const void*>(src), bytes);
    return "";
  }
  std::string Copy(uint64_t dst, uint64_t src, size_t bytes) override {
    if (bytes) std::memmove(reinterpret_cast<void*>(dst), reinterpret_cast<const void*>(src), bytes);
    return "";
  }
  std::string LoadModule(const void*) override { return ""; }  // the kernels are compiled in
  int Function(const std::string& name, std::string* why) override {
    for (size_t k = 0; k < sizeof(kKernels) / sizeof(kKernels[0]); k++)
      if (name == kKernels[k].name) return (int)k;
    *why = "the CPU shim has no kernel " + name + " (add it to kKernels in native/cuda/shim_device.cc)";
    return -1;
  }
  size_t FunctionCount() const override { return sizeof(kKernels) / sizeof(kKernels[0]); }
  std::string Launch(int fn, unsigned grid, unsigned block, const KParams& p) override {
    shim::KParams q;
    std::memcpy(&q, &p, sizeof q);
    const KernelFn f = kKernels[fn].fn;
    shim::gridDim = shim::Dim3{grid, 1, 1};
    shim::blockDim = shim::Dim3{block, 1, 1};
    for (unsigned b = 0; b < grid; b++) {
      shim::blockIdx.x = b;
      for (unsigned t = 0; t < block; t++) {
        shim::threadIdx.x = t;
        f(q);
      }
    }
    return "";
  }
  std::string Gemm(uint64_t a, uint64_t b, uint64_t c, int batch, int M, int N, int K, bool tA, bool tB, long long strideA,
                   long long strideB) override {
    const float* A = reinterpret_cast<const float*>(a);
    const float* B = reinterpret_cast<const float*>(b);
    float* C = reinterpret_cast<float*>(c);
    const int lda = tA ? M : K, ldb = tB ? K : N;
    for (int p = 0; p < batch; p++)
      Sgemm(tA, tB, M, N, K, A + p * strideA, lda, B + p * strideB, ldb, C + (size_t)p * M * N, N, false);
    return "";
  }
  std::string Sync() override { return ""; }
  void Describe(std::string* name, int* major, int* minor, size_t* totalMem) override {
    *name = "cpu-shim";
    *major = *minor = 0;
    *totalMem = 0;
  }
};

}  // namespace

std::unique_ptr<Device> MakeShimDevice() { return std::unique_ptr<Device>(new ShimDevice()); }

}  // namespace cuda
}  // namespace cmdcm
