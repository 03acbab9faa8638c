// The GPU device: a primary context on one visible device, one stream, cuBLAS on that stream, and
// the kernels compiled by NVRTC (the host caches the image on disk; see src/engine/cuda/device.ts).
// Every entry makes the context current on the calling thread first (a worker thread may call).
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "cuda/cuda_api.h"
#include "cuda/device.h"

namespace cmdcm {
namespace cuda {
namespace {

using namespace cu;

std::string CuError(const Driver* d, CUresult r, const char* what) {
  const char* name = nullptr;
  const char* text = nullptr;
  d->cuGetErrorName(r, &name);
  d->cuGetErrorString(r, &text);
  return std::string(what) + " failed: " + (name ? name : "CUDA error " + std::to_string(r)) + (text ? std::string(" (") + text + ")" : "");
}

const char* CublasStatus(int s) {
  switch (s) {
    case 1: return "CUBLAS_STATUS_NOT_INITIALIZED";
    case 3: return "CUBLAS_STATUS_ALLOC_FAILED";
    case 7: return "CUBLAS_STATUS_INVALID_VALUE";
    case 8: return "CUBLAS_STATUS_ARCH_MISMATCH";
    case 11: return "CUBLAS_STATUS_MAPPING_ERROR";
    case 13: return "CUBLAS_STATUS_EXECUTION_FAILED";
    case 14: return "CUBLAS_STATUS_INTERNAL_ERROR";
    case 15: return "CUBLAS_STATUS_NOT_SUPPORTED";
    case 16: return "CUBLAS_STATUS_LICENSE_ERROR";
  }
  return "cuBLAS error";
}

thread_local CUcontext currentCtx = nullptr;

class GpuDevice : public Device {
 public:
  GpuDevice(const Driver* d, const Cublas* b, CUdevice dev, CUcontext ctx) : d_(d), b_(b), dev_(dev), ctx_(ctx) {}
  ~GpuDevice() override {
    if (Current().empty()) {
      ReleaseAll();
      if (blas_) b_->cublasDestroy(blas_);
      for (CUmodule m : modules_) d_->cuModuleUnload(m);
      if (stream_) d_->cuStreamDestroy(stream_);
    }
    d_->cuDevicePrimaryCtxRelease(dev_);
    if (currentCtx == ctx_) currentCtx = nullptr;
  }
  std::string Init() {
    std::string e = Current();
    if (!e.empty()) return e;
    CUresult r = d_->cuStreamCreate(&stream_, 0);
    if (r) return CuError(d_, r, "cuStreamCreate");
    int s = b_->cublasCreate(&blas_);
    if (s) return std::string("cublasCreate failed: ") + CublasStatus(s);
    s = b_->cublasSetStream(blas_, stream_);
    if (s) return std::string("cublasSetStream failed: ") + CublasStatus(s);
    const char* tf32 = std::getenv("CMDCM_CUDA_TF32");
    if (tf32 && std::string(tf32) == "1") b_->cublasSetMathMode(blas_, CUBLAS_TF32_TENSOR_OP_MATH);
    return "";
  }
  const char* Kind() const override { return "gpu"; }
  std::string RawAlloc(size_t bytes, uint64_t* out) override {
    std::string e = Current();
    if (!e.empty()) return e;
    CUdeviceptr p = 0;
    CUresult r = d_->cuMemAlloc(&p, bytes);
    if (r) return CuError(d_, r, ("cuMemAlloc of " + std::to_string(bytes) + " bytes").c_str());
    *out = p;
    return "";
  }
  void RawFree(uint64_t ptr) override {
    if (Current().empty()) d_->cuMemFree(ptr);
  }
  std::string Upload(uint64_t dst, const void* src, size_t bytes) override {
    std::string e = Current();
    if (!e.empty() || !bytes) return e;
    // from pageable memory the call returns once the bytes are staged: the source may change after
    CUresult r = d_->cuMemcpyHtoDAsync(dst, src, bytes, stream_);
    return r ? CuError(d_, r, "cuMemcpyHtoDAsync") : "";
  }
  std::string Download(void* dst, uint64_t src, size_t bytes) override {
    std::string e = Current();
    if (!e.empty()) return e;
    if (bytes) {
      CUresult r = d_->cuMemcpyDtoHAsync(dst, src, bytes, stream_);
      if (r) return CuError(d_, r, "cuMemcpyDtoHAsync");
    }
    return Sync();
  }
  std::string Copy(uint64_t dst, uint64_t src, size_t bytes) override {
    std::string e = Current();
    if (!e.empty() || !bytes) return e;
    CUresult r = d_->cuMemcpyDtoDAsync(dst, src, bytes, stream_);
    return r ? CuError(d_, r, "cuMemcpyDtoDAsync") : "";
  }
  std::string LoadModule(const void* image) override {
    std::string e = Current();
    if (!e.empty()) return e;
    CUmodule m = nullptr;
    CUresult r = d_->cuModuleLoadData(&m, image);
    if (r) return CuError(d_, r, "cuModuleLoadData");
    modules_.push_back(m);
    return "";
  }
  int Function(const std::string& name, std::string* why) override {
    if (!(*why = Current()).empty()) return -1;
    for (size_t k = 0; k < names_.size(); k++)
      if (names_[k] == name) return (int)k;
    for (auto it = modules_.rbegin(); it != modules_.rend(); ++it) {
      CUfunction f = nullptr;
      if (d_->cuModuleGetFunction(&f, *it, name.c_str()) == 0 && f) {
        names_.push_back(name);
        fns_.push_back(f);
        return (int)fns_.size() - 1;
      }
    }
    *why = modules_.empty() ? "no kernel module is loaded (cudaLoadModule first)" : "the loaded kernels have no function " + name;
    return -1;
  }
  size_t FunctionCount() const override { return fns_.size(); }
  std::string Launch(int fn, unsigned grid, unsigned block, const KParams& p) override {
    std::string e = Current();
    if (!e.empty()) return e;
    KParams copy = p;
    void* args[] = {&copy};
    CUresult r = d_->cuLaunchKernel(fns_[fn], grid, 1, 1, block, 1, 1, 0, stream_, args, nullptr);
    return r ? CuError(d_, r, ("cuLaunchKernel " + names_[fn]).c_str()) : "";
  }
  std::string Gemm(uint64_t a, uint64_t b, uint64_t c, int batch, int M, int N, int K, bool tA, bool tB, long long strideA,
                   long long strideB) override {
    std::string e = Current();
    if (!e.empty()) return e;
    // row-major C = op(A)·op(B) is column-major Cᵀ = op(B)ᵀ·op(A)ᵀ: swap the operands
    const float one = 1.f, zero = 0.f;
    const int lda = tA ? M : K, ldb = tB ? K : N;
    const float* A = reinterpret_cast<const float*>(a);
    const float* B = reinterpret_cast<const float*>(b);
    float* C = reinterpret_cast<float*>(c);
    const int opA = tA ? CUBLAS_OP_T : CUBLAS_OP_N, opB = tB ? CUBLAS_OP_T : CUBLAS_OP_N;
    int s;
    if (batch == 1) s = b_->cublasSgemm(blas_, opB, opA, N, M, K, &one, B, ldb, A, lda, &zero, C, N);
    else s = b_->cublasSgemmStridedBatched(blas_, opB, opA, N, M, K, &one, B, ldb, strideB, A, lda, strideA, &zero, C, N, (long long)M * N, batch);
    return s ? std::string("cuBLAS sgemm failed: ") + CublasStatus(s) : "";
  }
  void Describe(std::string* name, int* major, int* minor, size_t* totalMem) override {
    char buf[256] = {0};
    d_->cuDeviceGetName(buf, sizeof buf - 1, dev_);
    *name = buf;
    d_->cuDeviceGetAttribute(major, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, dev_);
    d_->cuDeviceGetAttribute(minor, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR, dev_);
    d_->cuDeviceTotalMem(totalMem, dev_);
  }
  std::string Sync() override {
    std::string e = Current();
    if (!e.empty()) return e;
    CUresult r = d_->cuStreamSynchronize(stream_);
    return r ? CuError(d_, r, "cuStreamSynchronize (a kernel failed, or an earlier asynchronous error)") : "";
  }

 private:
  std::string Current() {
    if (currentCtx == ctx_) return "";
    CUresult r = d_->cuCtxSetCurrent(ctx_);
    if (r) return CuError(d_, r, "cuCtxSetCurrent");
    currentCtx = ctx_;
    return "";
  }
  const Driver* d_;
  const Cublas* b_;
  CUdevice dev_;
  CUcontext ctx_;
  CUstream stream_ = nullptr;
  cublasHandle_t blas_ = nullptr;
  std::vector<CUmodule> modules_;
  std::vector<std::string> names_;
  std::vector<CUfunction> fns_;
};

}  // namespace

std::unique_ptr<Device> MakeGpuDevice(int ordinal, std::string* why) {
  const Driver* d = LoadDriver(why);
  if (!d) return nullptr;
  CUresult r = d->cuInit(0);
  if (r) {
    *why = CuError(d, r, "cuInit") + ": the NVIDIA driver found no usable GPU";
    return nullptr;
  }
  int count = 0;
  r = d->cuDeviceGetCount(&count);
  if (r) {
    *why = CuError(d, r, "cuDeviceGetCount");
    return nullptr;
  }
  if (ordinal >= count) {
    const char* cvd = std::getenv("CUDA_VISIBLE_DEVICES");
    *why = "CUDA device " + std::to_string(ordinal) + " is not visible (" + std::to_string(count) + " visible" +
           (cvd ? std::string(", CUDA_VISIBLE_DEVICES=") + cvd : std::string()) + ")";
    return nullptr;
  }
  const Cublas* b = LoadCublas(why);
  if (!b) return nullptr;
  if (!LoadNvrtc(why)) return nullptr;
  CUdevice dev = 0;
  r = d->cuDeviceGet(&dev, ordinal);
  if (r) {
    *why = CuError(d, r, "cuDeviceGet");
    return nullptr;
  }
  CUcontext ctx = nullptr;
  r = d->cuDevicePrimaryCtxRetain(&ctx, dev);
  if (r) {
    *why = CuError(d, r, "cuDevicePrimaryCtxRetain");
    return nullptr;
  }
  std::unique_ptr<GpuDevice> g(new GpuDevice(d, b, dev, ctx));
  *why = g->Init();
  if (!why->empty()) return nullptr;
  return std::unique_ptr<Device>(g.release());
}

bool CompileKernels(const std::string& source, int major, int minor, std::vector<char>* image, std::string* kind, std::string* why) {
  const Nvrtc* n = LoadNvrtc(why);
  if (!n) return false;
  // CUBIN for the GPU's own architecture; PTX (the driver JIT-compiles it) when this NVRTC is older
  // than the GPU or has no CUBIN output
  for (int attempt = 0; attempt < 2; attempt++) {
    const bool cubin = attempt == 0 && n->nvrtcGetCUBIN;
    if (attempt == 0 && !cubin) continue;
    nvrtcProgram prog = nullptr;
    nvrtcResult r = n->nvrtcCreateProgram(&prog, source.c_str(), "cmdcm_kernels.cu", 0, nullptr, nullptr);
    if (r) {
      *why = std::string("nvrtcCreateProgram failed: ") + n->nvrtcGetErrorString(r);
      return false;
    }
    const std::string arch = std::string("--gpu-architecture=") + (cubin ? "sm_" : "compute_") + std::to_string(major * 10 + minor);
    const char* opts[] = {arch.c_str(), "--std=c++14"};
    r = n->nvrtcCompileProgram(prog, 2, opts);
    if (r) {
      size_t logSize = 0;
      n->nvrtcGetProgramLogSize(prog, &logSize);
      std::string log(logSize, '\0');
      if (logSize) n->nvrtcGetProgramLog(prog, &log[0]);
      n->nvrtcDestroyProgram(&prog);
      *why = std::string("NVRTC could not compile the kernels for ") + arch + ": " + n->nvrtcGetErrorString(r) + "\n" + log;
      if (cubin) continue;  // an NVRTC older than the GPU rejects sm_XX: try PTX
      return false;
    }
    size_t size = 0;
    if (cubin) n->nvrtcGetCUBINSize(prog, &size);
    else n->nvrtcGetPTXSize(prog, &size);
    image->assign(size, 0);
    if (cubin) n->nvrtcGetCUBIN(prog, image->data());
    else n->nvrtcGetPTX(prog, image->data());
    n->nvrtcDestroyProgram(&prog);
    *kind = cubin ? "cubin" : "ptx";
    why->clear();
    return true;
  }
  return false;
}

}  // namespace cuda
}  // namespace cmdcm
