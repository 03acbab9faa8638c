// N-API entry points of the cuda engine (src/engine/cuda/device.ts wraps them). A device is opened
// as 'gpu' (the driver API, cuBLAS and NVRTC, loaded with dlopen) or 'shim' (the CPU shim), and the
// same calls drive both. Addresses cross into JavaScript as numbers (exact below 2^53); every call
// checks that each address it is given starts a live allocation of the device and that the bytes
// it moves fit inside it. Kernels index within their buffers by the counts the backend passes.
#include <napi.h>

#include <cmath>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "addon.h"
#include "cuda/cuda_api.h"
#include "cuda/device.h"

namespace cmdcm {
namespace {

using cuda::Device;

struct Slot {
  std::unique_ptr<Device> dev;
  napi_env env;
};
std::mutex tableMu;
std::vector<Slot> table;  // handle h is table[h - 1]

Device* Get(Args& a, size_t i) {
  const int64_t h = a.Int(i, "device", 1, 1 << 20);
  if (!a) return nullptr;
  std::lock_guard<std::mutex> lock(tableMu);
  if ((size_t)h > table.size() || !table[h - 1].dev) {
    a.RangeError("device " + std::to_string(h) + " is not open");
    return nullptr;
  }
  return table[h - 1].dev.get();
}

// An address argument: the start of a live allocation of dev; *size its size in bytes.
uint64_t Ptr(Args& a, Device* dev, size_t i, const char* name, size_t* size) {
  const int64_t p = a.Int(i, name, 1, Args::kMaxSafe);
  if (!a || !dev) return 0;
  *size = dev->SizeOf((uint64_t)p);
  a.Require(*size > 0, [&] { return std::string("argument ") + name + " is not a live allocation of this device"; });
  return (uint64_t)p;
}

Napi::Value Fail(Napi::Env env, const std::string& why) {
  Napi::Error::New(env, why).ThrowAsJavaScriptException();
  return env.Undefined();
}

void CloseEnvDevices(void* arg) {
  napi_env env = static_cast<napi_env>(arg);
  std::vector<std::unique_ptr<Device>> closing;
  {
    std::lock_guard<std::mutex> lock(tableMu);
    for (auto& s : table)
      if (s.dev && s.env == env) closing.push_back(std::move(s.dev));
  }
}

// cudaProbe(): { ok, why, devices, driverVersion }: whether a GPU is usable, without opening one.
Napi::Value Probe(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = Napi::Object::New(env);
  std::string why;
  int count = 0, version = 0;
  const cu::Driver* d = cu::LoadDriver(&why);
  if (d) {
    int r = d->cuInit(0);
    if (r) {
      const char* name = nullptr;
      d->cuGetErrorName(r, &name);
      why = std::string("cuInit failed: ") + (name ? name : std::to_string(r)) + ": the NVIDIA driver found no usable GPU";
    } else {
      d->cuDriverGetVersion(&version);
      d->cuDeviceGetCount(&count);
      if (count == 0) why = "the NVIDIA driver sees no GPU (check CUDA_VISIBLE_DEVICES)";
    }
  }
  if (why.empty()) cu::LoadCublas(&why);
  if (why.empty()) cu::LoadNvrtc(&why);
  o.Set("ok", why.empty());
  o.Set("why", why);
  o.Set("devices", count);
  o.Set("driverVersion", version);
  return o;
}

// cudaOpen(kind: 'gpu' | 'shim', ordinal) -> device handle
Napi::Value Open(const Napi::CallbackInfo& info) {
  Args a(info, "cudaOpen");
  const std::string kind = a.Str(0, "kind");
  const int ordinal = (int)a.Int(1, "ordinal", 0, 1024);
  a.Require(kind == "gpu" || kind == "shim", [&] { return "argument kind must be 'gpu' or 'shim', got '" + kind + "'"; });
  if (!a) return a.Fail();
  std::string why;
  std::unique_ptr<Device> dev = kind == "shim" ? cuda::MakeShimDevice() : cuda::MakeGpuDevice(ordinal, &why);
  if (!dev) return Fail(info.Env(), why);
  napi_env env = info.Env();
  std::lock_guard<std::mutex> lock(tableMu);
  bool envSeen = false;
  for (auto& s : table) envSeen = envSeen || s.env == env;
  if (!envSeen) napi_add_env_cleanup_hook(env, CloseEnvDevices, env);
  table.push_back({std::move(dev), env});
  return Napi::Number::New(env, (double)table.size());
}

Napi::Value Close(const Napi::CallbackInfo& info) {
  Args a(info, "cudaClose");
  Device* d = Get(a, 0);
  if (!a) return a.Fail();
  std::unique_ptr<Device> closing;
  {
    std::lock_guard<std::mutex> lock(tableMu);
    for (auto& s : table)
      if (s.dev.get() == d) closing = std::move(s.dev);
  }
  return info.Env().Undefined();
}

Napi::Value Info(const Napi::CallbackInfo& info) {
  Args a(info, "cudaInfo");
  Device* d = Get(a, 0);
  if (!a) return a.Fail();
  std::string name;
  int major = 0, minor = 0;
  size_t mem = 0;
  d->Describe(&name, &major, &minor, &mem);
  Napi::Object o = Napi::Object::New(info.Env());
  o.Set("kind", d->Kind());
  o.Set("name", name);
  o.Set("major", major);
  o.Set("minor", minor);
  o.Set("totalMem", (double)mem);
  o.Set("liveBytes", (double)d->LiveBytes());
  o.Set("cachedBytes", (double)d->CachedBytes());
  o.Set("live", (double)d->LiveCount());
  o.Set("driver", cu::LoadedFrom("driver"));
  o.Set("nvrtc", cu::LoadedFrom("nvrtc"));
  o.Set("cublas", cu::LoadedFrom("cublas"));
  return o;
}

Napi::Value Alloc(const Napi::CallbackInfo& info) {
  Args a(info, "cudaAlloc");
  Device* d = Get(a, 0);
  const size_t bytes = a.Size(1, "bytes");
  a.Require(bytes > 0, "argument bytes must be at least 1 (a 0-element tensor has no buffer)");
  if (!a) return a.Fail();
  uint64_t p = 0;
  const std::string err = d->Alloc(bytes, &p);
  if (!err.empty()) return Fail(info.Env(), err);
  return Napi::Number::New(info.Env(), (double)p);
}

Napi::Value Free(const Napi::CallbackInfo& info) {
  Args a(info, "cudaFree");
  Device* d = Get(a, 0);
  size_t size = 0;
  const uint64_t p = Ptr(a, d, 1, "ptr", &size);
  if (!a) return a.Fail();
  d->Free(p);
  return info.Env().Undefined();
}

// cudaUpload(device, ptr, byteOffset, Float32Array | Int32Array) / cudaDownload(same)
Napi::Value Move(const Napi::CallbackInfo& info, bool up) {
  Args a(info, up ? "cudaUpload" : "cudaDownload");
  Device* d = Get(a, 0);
  size_t size = 0;
  const uint64_t p = Ptr(a, d, 1, "ptr", &size);
  const size_t off = a.Size(2, "byteOffset");
  const auto v = a.Array<Word4>(3, "values");
  a.Require(off % 4 == 0 && off + v.length * 4 <= size, [&] {
    return "byteOffset " + std::to_string(off) + " + " + std::to_string(v.length * 4) + " bytes does not fit the allocation of " + std::to_string(size) + " bytes";
  });
  if (!a) return a.Fail();
  const std::string err = up ? d->Upload(p + off, v.data, v.length * 4) : d->Download(v.data, p + off, v.length * 4);
  if (!err.empty()) return Fail(info.Env(), err);
  return info.Env().Undefined();
}
Napi::Value Upload(const Napi::CallbackInfo& info) { return Move(info, true); }
Napi::Value Download(const Napi::CallbackInfo& info) { return Move(info, false); }

// cudaCopy(device, dst, dstByteOffset, src, srcByteOffset, bytes)
Napi::Value Copy(const Napi::CallbackInfo& info) {
  Args a(info, "cudaCopy");
  Device* d = Get(a, 0);
  size_t ds = 0, ss = 0;
  const uint64_t dst = Ptr(a, d, 1, "dst", &ds);
  const size_t doff = a.Size(2, "dstByteOffset");
  const uint64_t src = Ptr(a, d, 3, "src", &ss);
  const size_t soff = a.Size(4, "srcByteOffset");
  const size_t bytes = a.Size(5, "bytes");
  a.Require(doff + bytes <= ds && soff + bytes <= ss, "the copy does not fit its allocations");
  if (!a) return a.Fail();
  const std::string err = d->Copy(dst + doff, src + soff, bytes);
  if (!err.empty()) return Fail(info.Env(), err);
  return info.Env().Undefined();
}

// cudaCompile(source, major, minor) -> { image: Uint8Array, kind: 'cubin' | 'ptx' } (NVRTC)
Napi::Value Compile(const Napi::CallbackInfo& info) {
  Args a(info, "cudaCompile");
  const std::string src = a.Str(0, "source");
  const int major = (int)a.Int(1, "major", 1, 100), minor = (int)a.Int(2, "minor", 0, 9);
  if (!a) return a.Fail();
  std::vector<char> image;
  std::string kind, why;
  if (!cuda::CompileKernels(src, major, minor, &image, &kind, &why)) return Fail(info.Env(), why);
  Napi::Object o = Napi::Object::New(info.Env());
  auto buf = Napi::Uint8Array::New(info.Env(), image.size());
  if (!image.empty()) std::memcpy(buf.Data(), image.data(), image.size());
  o.Set("image", buf);
  o.Set("kind", kind);
  return o;
}

// cudaLoadModule(device, image: Uint8Array) (a no-op on the shim, whose kernels are compiled in)
Napi::Value LoadModule(const Napi::CallbackInfo& info) {
  Args a(info, "cudaLoadModule");
  Device* d = Get(a, 0);
  const auto img = a.Array<uint8_t>(1, "image");
  a.Require(img.length > 0, "the image is empty");
  if (!a) return a.Fail();
  // cuModuleLoadData reads a PTX image up to its NUL: pass a terminated copy
  std::vector<char> copy(img.data, img.data + img.length);
  copy.push_back('\0');
  const std::string err = d->LoadModule(copy.data());
  if (!err.empty()) return Fail(info.Env(), err);
  return info.Env().Undefined();
}

Napi::Value Function(const Napi::CallbackInfo& info) {
  Args a(info, "cudaFunction");
  Device* d = Get(a, 0);
  const std::string name = a.Str(1, "name");
  if (!a) return a.Fail();
  std::string why;
  const int id = d->Function(name, &why);
  if (id < 0) return Fail(info.Env(), why);
  return Napi::Number::New(info.Env(), id);
}

// cudaLaunch(device, fn, grid, block, ptrs: Float64Array(8), n, ints: Int32Array(32), floats: Float32Array(4))
Napi::Value Launch(const Napi::CallbackInfo& info) {
  Args a(info, "cudaLaunch");
  Device* d = Get(a, 0);
  const int fn = (int)a.Int(1, "fn", 0, 1 << 20);
  const unsigned grid = (unsigned)a.Int(2, "grid", 1, 0x7fffffff), block = (unsigned)a.Int(3, "block", 1, 1024);
  const auto ptrs = a.Array<double>(4, "ptrs");
  const int64_t n = a.Int(5, "n", 0, Args::kMaxSafe);
  const auto ints = a.Array<int32_t>(6, "ints");
  const auto floats = a.Array<float>(7, "floats");
  a.Require(ptrs.length == 8 && ints.length == 32 && floats.length == 4, "ptrs, ints and floats must hold 8, 32 and 4 values");
  if (!a) return a.Fail();
  // the function table only grows: an id below its size is valid (cudaFunction checked the name)
  a.Require((size_t)fn < d->FunctionCount(), "argument fn is not a function id of this device (cudaFunction gives them)");
  cuda::KParams p;
  for (int k = 0; k < 8; k++) {
    const double v = ptrs.data[k];
    if (v != 0 && (v < 0 || v > (double)Args::kMaxSafe || v != std::floor(v) || d->SizeOf((uint64_t)v) == 0)) {
      a.RangeError("ptrs[" + std::to_string(k) + "] is not a live allocation of this device");
      return a.Fail();
    }
    p.ptr[k] = (unsigned long long)v;
  }
  p.n = n;
  for (int k = 0; k < 32; k++) p.i[k] = ints.data[k];
  for (int k = 0; k < 4; k++) p.f[k] = floats.data[k];
  if (!a) return a.Fail();
  const std::string err = d->Launch(fn, grid, block, p);
  if (!err.empty()) return Fail(info.Env(), err);
  return info.Env().Undefined();
}

// cudaGemm(device, a, b, c, batch, M, N, K, transA, transB, strideA, strideB): row-major
// c[b] = op(a[b]) · op(b[b]), strides in floats (0 broadcasts an operand).
Napi::Value Gemm(const Napi::CallbackInfo& info) {
  Args a(info, "cudaGemm");
  Device* d = Get(a, 0);
  size_t sa = 0, sb = 0, sc = 0;
  const uint64_t pa = Ptr(a, d, 1, "a", &sa), pb = Ptr(a, d, 2, "b", &sb), pc = Ptr(a, d, 3, "c", &sc);
  const int batch = (int)a.Int(4, "batch", 1, INT32_MAX), M = (int)a.Int(5, "M", 1, INT32_MAX), N = (int)a.Int(6, "N", 1, INT32_MAX),
            K = (int)a.Int(7, "K", 1, INT32_MAX);
  const bool tA = a.Bool(8), tB = a.Bool(9);
  const size_t strideA = a.Size(10, "strideA"), strideB = a.Size(11, "strideB");
  if (!a) return a.Fail();
  const size_t last = (size_t)batch - 1;
  a.Require((last * strideA + (size_t)M * K) * 4 <= sa, "a is smaller than the batch's strides and M × K need");
  a.Require((last * strideB + (size_t)K * N) * 4 <= sb, "b is smaller than the batch's strides and K × N need");
  a.Require((size_t)batch * M * N * 4 <= sc, "c is smaller than batch × M × N");
  if (!a) return a.Fail();
  const std::string err = d->Gemm(pa, pb, pc, batch, M, N, K, tA, tB, (long long)strideA, (long long)strideB);
  if (!err.empty()) return Fail(info.Env(), err);
  return info.Env().Undefined();
}

Napi::Value Sync(const Napi::CallbackInfo& info) {
  Args a(info, "cudaSync");
  Device* d = Get(a, 0);
  if (!a) return a.Fail();
  const std::string err = d->Sync();
  if (!err.empty()) return Fail(info.Env(), err);
  return info.Env().Undefined();
}

Napi::Value ReleaseCached(const Napi::CallbackInfo& info) {
  Args a(info, "cudaReleaseCached");
  Device* d = Get(a, 0);
  if (!a) return a.Fail();
  d->ReleaseCached();
  return info.Env().Undefined();
}

// cudaIndexRange(ids: Int32Array) -> [min, max] ([0, -1] when empty): the host-side check of a
// gather's indices before the launch (a plain loop the compiler vectorizes; JS took ~7x longer)
Napi::Value IndexRange(const Napi::CallbackInfo& info) {
  Args a(info, "cudaIndexRange");
  const auto ids = a.Array<int32_t>(0, "ids");
  if (!a) return a.Fail();
  int32_t lo = 0, hi = -1;
  if (ids.length > 0) {
    lo = hi = ids.data[0];
    for (size_t i = 1; i < ids.length; i++) {
      const int32_t v = ids.data[i];
      lo = v < lo ? v : lo;
      hi = v > hi ? v : hi;
    }
  }
  Napi::Array r = Napi::Array::New(info.Env(), 2);
  r.Set(0u, lo);
  r.Set(1u, hi);
  return r;
}

}  // namespace

void InitCuda(Napi::Env env, Napi::Object exports) {
  exports.Set("cudaProbe", Napi::Function::New(env, Probe, "cudaProbe"));
  exports.Set("cudaOpen", Napi::Function::New(env, Open, "cudaOpen"));
  exports.Set("cudaClose", Napi::Function::New(env, Close, "cudaClose"));
  exports.Set("cudaInfo", Napi::Function::New(env, Info, "cudaInfo"));
  exports.Set("cudaAlloc", Napi::Function::New(env, Alloc, "cudaAlloc"));
  exports.Set("cudaFree", Napi::Function::New(env, Free, "cudaFree"));
  exports.Set("cudaUpload", Napi::Function::New(env, Upload, "cudaUpload"));
  exports.Set("cudaDownload", Napi::Function::New(env, Download, "cudaDownload"));
  exports.Set("cudaCopy", Napi::Function::New(env, Copy, "cudaCopy"));
  exports.Set("cudaCompile", Napi::Function::New(env, Compile, "cudaCompile"));
  exports.Set("cudaLoadModule", Napi::Function::New(env, LoadModule, "cudaLoadModule"));
  exports.Set("cudaFunction", Napi::Function::New(env, Function, "cudaFunction"));
  exports.Set("cudaLaunch", Napi::Function::New(env, Launch, "cudaLaunch"));
  exports.Set("cudaGemm", Napi::Function::New(env, Gemm, "cudaGemm"));
  exports.Set("cudaSync", Napi::Function::New(env, Sync, "cudaSync"));
  exports.Set("cudaIndexRange", Napi::Function::New(env, IndexRange, "cudaIndexRange"));
  exports.Set("cudaReleaseCached", Napi::Function::New(env, ReleaseCached, "cudaReleaseCached"));
}

}  // namespace cmdcm
