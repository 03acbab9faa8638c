// dlopen of libcuda, NVRTC and cuBLAS (see cuda_api.h). Several sonames are tried, newest first;
// CMDCM_CUDA_NVRTC / CMDCM_CUDA_CUBLAS name a file to use instead (e.g. the copies a PyTorch wheel
// ships under site-packages/nvidia/*/lib).
#include "cuda/cuda_api.h"

#include <dlfcn.h>

#include <cstdlib>
#include <mutex>
#include <string>
#include <vector>

namespace cmdcm {
namespace cu {
namespace {

std::mutex mu;
std::string fromDriver, fromNvrtc, fromCublas;

void* OpenFirst(const std::vector<std::string>& names, std::string* from, std::string* errors) {
  for (const auto& n : names) {
    void* h = dlopen(n.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (h) {
      *from = n;
      return h;
    }
    const char* e = dlerror();
    if (errors->empty() && e) *errors = e;
  }
  return nullptr;
}

template <typename F>
bool Sym(void* h, const char* name, F* out, std::string* missing) {
  *out = reinterpret_cast<F>(dlsym(h, name));
  if (!*out && missing->empty()) *missing = name;
  return *out != nullptr;
}

std::vector<std::string> Candidates(const char* env, std::initializer_list<const char*> sonames) {
  std::vector<std::string> v;
  const char* e = std::getenv(env);
  if (e && *e) v.push_back(e);
  for (const char* s : sonames) v.push_back(s);
  return v;
}

std::string Join(const std::vector<std::string>& v) {
  std::string s;
  for (size_t i = 0; i < v.size(); i++) s += (i ? ", " : "") + v[i];
  return s;
}

}  // namespace

const Driver* LoadDriver(std::string* why) {
  std::lock_guard<std::mutex> lock(mu);
  static Driver d;
  static int state = 0;  // 0 untried, 1 ok, 2 failed
  static std::string failure;
  if (state == 0) {
    std::string err, missing;
    const std::vector<std::string> names = {"libcuda.so.1", "libcuda.so"};
    void* h = OpenFirst(names, &fromDriver, &err);
    if (!h) {
      failure = "cannot load the NVIDIA driver library libcuda.so.1 (" + err +
                "): this machine has no NVIDIA driver; install it, or put the directory holding libcuda.so.1 on LD_LIBRARY_PATH";
    } else {
      Sym(h, "cuInit", &d.cuInit, &missing);
      Sym(h, "cuDriverGetVersion", &d.cuDriverGetVersion, &missing);
      Sym(h, "cuDeviceGetCount", &d.cuDeviceGetCount, &missing);
      Sym(h, "cuDeviceGet", &d.cuDeviceGet, &missing);
      Sym(h, "cuDeviceGetName", &d.cuDeviceGetName, &missing);
      Sym(h, "cuDeviceGetAttribute", &d.cuDeviceGetAttribute, &missing);
      Sym(h, "cuDeviceTotalMem_v2", &d.cuDeviceTotalMem, &missing);
      Sym(h, "cuDevicePrimaryCtxRetain", &d.cuDevicePrimaryCtxRetain, &missing);
      Sym(h, "cuDevicePrimaryCtxRelease_v2", &d.cuDevicePrimaryCtxRelease, &missing);
      Sym(h, "cuCtxSetCurrent", &d.cuCtxSetCurrent, &missing);
      Sym(h, "cuMemAlloc_v2", &d.cuMemAlloc, &missing);
      Sym(h, "cuMemFree_v2", &d.cuMemFree, &missing);
      Sym(h, "cuMemcpyHtoDAsync_v2", &d.cuMemcpyHtoDAsync, &missing);
      Sym(h, "cuMemcpyDtoHAsync_v2", &d.cuMemcpyDtoHAsync, &missing);
      Sym(h, "cuMemcpyDtoDAsync_v2", &d.cuMemcpyDtoDAsync, &missing);
      Sym(h, "cuStreamCreate", &d.cuStreamCreate, &missing);
      Sym(h, "cuStreamDestroy_v2", &d.cuStreamDestroy, &missing);
      Sym(h, "cuStreamSynchronize", &d.cuStreamSynchronize, &missing);
      Sym(h, "cuModuleLoadData", &d.cuModuleLoadData, &missing);
      Sym(h, "cuModuleUnload", &d.cuModuleUnload, &missing);
      Sym(h, "cuModuleGetFunction", &d.cuModuleGetFunction, &missing);
      Sym(h, "cuLaunchKernel", &d.cuLaunchKernel, &missing);
      Sym(h, "cuGetErrorString", &d.cuGetErrorString, &missing);
      Sym(h, "cuGetErrorName", &d.cuGetErrorName, &missing);
      if (!missing.empty()) failure = fromDriver + " lacks " + missing + ": the NVIDIA driver is too old for cmdcm (update it)";
    }
    state = failure.empty() ? 1 : 2;
  }
  if (state == 2) {
    *why = failure;
    return nullptr;
  }
  return &d;
}

const Nvrtc* LoadNvrtc(std::string* why) {
  std::lock_guard<std::mutex> lock(mu);
  static Nvrtc r;
  static int state = 0;
  static std::string failure;
  if (state == 0) {
    std::string err, missing;
    const auto names = Candidates("CMDCM_CUDA_NVRTC", {"libnvrtc.so.13", "libnvrtc.so.12", "libnvrtc.so.11.2", "libnvrtc.so"});
    void* h = OpenFirst(names, &fromNvrtc, &err);
    if (!h) {
      failure = "cannot load NVRTC, the CUDA run-time compiler (tried " + Join(names) + "; " + err +
                "): install the CUDA toolkit's NVRTC (e.g. the cuda-nvrtc package, or pip's nvidia-cuda-nvrtc) and put its lib directory on "
                "LD_LIBRARY_PATH, or set CMDCM_CUDA_NVRTC to the libnvrtc.so file";
    } else {
      Sym(h, "nvrtcGetErrorString", &r.nvrtcGetErrorString, &missing);
      Sym(h, "nvrtcVersion", &r.nvrtcVersion, &missing);
      Sym(h, "nvrtcCreateProgram", &r.nvrtcCreateProgram, &missing);
      Sym(h, "nvrtcDestroyProgram", &r.nvrtcDestroyProgram, &missing);
      Sym(h, "nvrtcCompileProgram", &r.nvrtcCompileProgram, &missing);
      Sym(h, "nvrtcGetProgramLogSize", &r.nvrtcGetProgramLogSize, &missing);
      Sym(h, "nvrtcGetProgramLog", &r.nvrtcGetProgramLog, &missing);
      Sym(h, "nvrtcGetPTXSize", &r.nvrtcGetPTXSize, &missing);
      Sym(h, "nvrtcGetPTX", &r.nvrtcGetPTX, &missing);
      std::string optional;
      Sym(h, "nvrtcGetCUBINSize", &r.nvrtcGetCUBINSize, &optional);  // NVRTC >= 11.1; PTX otherwise
      Sym(h, "nvrtcGetCUBIN", &r.nvrtcGetCUBIN, &optional);
      if (!missing.empty()) failure = fromNvrtc + " lacks " + missing + " (not an NVRTC library?)";
    }
    state = failure.empty() ? 1 : 2;
  }
  if (state == 2) {
    *why = failure;
    return nullptr;
  }
  return &r;
}

const Cublas* LoadCublas(std::string* why) {
  std::lock_guard<std::mutex> lock(mu);
  static Cublas b;
  static int state = 0;
  static std::string failure;
  if (state == 0) {
    std::string err, missing;
    const auto names = Candidates("CMDCM_CUDA_CUBLAS", {"libcublas.so.13", "libcublas.so.12", "libcublas.so.11", "libcublas.so"});
    void* h = OpenFirst(names, &fromCublas, &err);
    if (!h) {
      failure = "cannot load cuBLAS (tried " + Join(names) + "; " + err +
                "): install the CUDA toolkit's cuBLAS (e.g. the libcublas package, or pip's nvidia-cublas) and put its lib directory on "
                "LD_LIBRARY_PATH, or set CMDCM_CUDA_CUBLAS to the libcublas.so file";
    } else {
      Sym(h, "cublasCreate_v2", &b.cublasCreate, &missing);
      Sym(h, "cublasDestroy_v2", &b.cublasDestroy, &missing);
      Sym(h, "cublasSetStream_v2", &b.cublasSetStream, &missing);
      Sym(h, "cublasSetMathMode", &b.cublasSetMathMode, &missing);
      Sym(h, "cublasSgemm_v2", &b.cublasSgemm, &missing);
      Sym(h, "cublasSgemmStridedBatched", &b.cublasSgemmStridedBatched, &missing);
      if (!missing.empty()) failure = fromCublas + " lacks " + missing + " (cuBLAS older than CUDA 11?)";
    }
    state = failure.empty() ? 1 : 2;
  }
  if (state == 2) {
    *why = failure;
    return nullptr;
  }
  return &b;
}

std::string LoadedFrom(const char* which) {
  std::lock_guard<std::mutex> lock(mu);
  const std::string w = which;
  return w == "driver" ? fromDriver : w == "nvrtc" ? fromNvrtc : w == "cublas" ? fromCublas : "";
}

}  // namespace cu
}  // namespace cmdcm
