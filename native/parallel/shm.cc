// Shared memory for the process transport of the parallel trainer (src/parallel/region.ts).
//
// A POSIX shared-memory object (shm_open; a file under /dev/shm on Linux) mapped MAP_SHARED and
// exposed to JS as an external ArrayBuffer, so parameters, gradients and the barrier words are the
// same physical pages in every worker process. Atomics.load/store/add work on an Int32Array over
// such a buffer, but Atomics.wait refuses non-shared buffers, so the barrier blocks through the
// futex syscall instead (process-shared: no FUTEX_PRIVATE_FLAG, keyed on the physical page).
#include "addon.h"
#include "args.h"

#include <cerrno>
#include <climits>
#include <cstdint>
#include <cstring>
#include <string>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#if defined(__linux__)
#include <linux/futex.h>
#include <sys/syscall.h>
#include <time.h>
#endif

namespace cmdcm {
namespace {

struct Mapping {
  void* addr;
  size_t len;
};

std::string ErrnoText(const char* what, const std::string& name) {
  return std::string(what) + " " + name + ": " + std::strerror(errno);
}

bool ValidName(const std::string& name) {
  // One path component after the leading slash: shm_open's portable form.
  if (name.size() < 2 || name.size() > 200 || name[0] != '/') return false;
  return name.find('/', 1) == std::string::npos;
}

Napi::Value Wrap(Napi::Env env, void* addr, size_t len) {
  auto* m = new Mapping{addr, len};
  // The mapping outlives the name (the coordinator unlinks it early); it goes away when the last
  // ArrayBuffer over it is collected, or with the process.
  return Napi::ArrayBuffer::New(env, addr, len, [](Napi::Env, void*, Mapping* mm) {
    munmap(mm->addr, mm->len);
    delete mm;
  }, m);
}

Napi::Value Map(const Napi::CallbackInfo& info, bool create) {
  Napi::Env env = info.Env();
  Args args(info, create ? "shmCreate" : "shmOpen");
  std::string name = args.Str(0, "name");
  if (!args) return args.Fail();
  if (!ValidName(name)) {
    args.TypeError("invalid name " + name + " (expected /name)");
    return args.Fail();
  }
  size_t len = 0;
  int fd;
  if (create) {
    double want = info.Length() > 1 && info[1].IsNumber() ? info[1].As<Napi::Number>().DoubleValue() : 0;
    if (!(want > 0) || want > 1e15) {
      args.RangeError("invalid size");
      return args.Fail();
    }
    len = static_cast<size_t>(want);
    fd = shm_open(name.c_str(), O_RDWR | O_CREAT | O_EXCL, 0600);
    if (fd < 0) {
      Napi::Error::New(env, ErrnoText("shm_open", name)).ThrowAsJavaScriptException();
      return env.Undefined();
    }
    if (ftruncate(fd, static_cast<off_t>(len)) != 0) {
      std::string msg = ErrnoText("ftruncate", name);
      close(fd);
      shm_unlink(name.c_str());
      Napi::Error::New(env, msg).ThrowAsJavaScriptException();
      return env.Undefined();
    }
  } else {
    fd = shm_open(name.c_str(), O_RDWR, 0600);
    if (fd < 0) {
      Napi::Error::New(env, ErrnoText("shm_open", name)).ThrowAsJavaScriptException();
      return env.Undefined();
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
      std::string msg = ErrnoText("fstat", name);
      close(fd);
      Napi::Error::New(env, msg).ThrowAsJavaScriptException();
      return env.Undefined();
    }
    len = static_cast<size_t>(st.st_size);
  }
  // MAP_NORESERVE + ftruncate: pages are allocated on first touch, so a large table costs memory
  // only as its rows are written (RSS counts the pages once, however many processes map them).
  void* addr = mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE, fd, 0);
  int mapErr = errno;
  close(fd);
  if (addr == MAP_FAILED) {
    errno = mapErr;
    if (create) shm_unlink(name.c_str());
    Napi::Error::New(env, ErrnoText("mmap", name)).ThrowAsJavaScriptException();
    return env.Undefined();
  }
  return Wrap(env, addr, len);
}

Napi::Value ShmCreate(const Napi::CallbackInfo& info) { return Map(info, true); }
Napi::Value ShmOpen(const Napi::CallbackInfo& info) { return Map(info, false); }

Napi::Value ShmUnlink(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Args args(info, "shmUnlink");
  std::string name = args.Str(0, "name");
  if (!args) return args.Fail();
  if (!ValidName(name)) return Napi::Boolean::New(env, false);
  return Napi::Boolean::New(env, shm_unlink(name.c_str()) == 0);
}

// Resolves (buffer, byteOffset) to an aligned int32 inside the buffer, or fails.
int32_t* Word(Args& args, const Napi::CallbackInfo& info) {
  if (!args.RequireType(info.Length() > 0 && info[0].IsArrayBuffer(), "argument buffer must be an ArrayBuffer")) return nullptr;
  const int64_t off = args.Int(1, "byteOffset", 0, Args::kMaxSafe);
  if (!args) return nullptr;
  auto ab = info[0].As<Napi::ArrayBuffer>();
  if (!args.Require((off & 3) == 0 && static_cast<size_t>(off) + 4 <= ab.ByteLength(), "byteOffset out of range or unaligned")) return nullptr;
  return reinterpret_cast<int32_t*>(static_cast<uint8_t*>(ab.Data()) + off);
}

// futexWait(buffer, byteOffset, expected, timeoutMs) -> 'ok' | 'not-equal' | 'timed-out'
// (the strings of Atomics.wait, so the JS barrier treats both paths alike).
Napi::Value FutexWait(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Args args(info, "futexWait");
  int32_t* w = Word(args, info);
  const int32_t expected = (int32_t)args.Int(2, "expected", INT32_MIN, INT32_MAX);
  if (!w || !args) return args.Fail();
  // no timeout (wait until woken) unless a number of ms is given
  const double ms = info.Length() > 3 && info[3].IsNumber() ? info[3].As<Napi::Number>().DoubleValue() : -1;
#if defined(__linux__)
  struct timespec ts;
  struct timespec* tsp = nullptr;
  if (ms >= 0) {
    ts.tv_sec = static_cast<time_t>(ms / 1000);
    ts.tv_nsec = static_cast<long>((ms - ts.tv_sec * 1000.0) * 1e6);
    tsp = &ts;
  }
  long r = syscall(SYS_futex, w, FUTEX_WAIT, expected, tsp, nullptr, 0);
  if (r == 0) return Napi::String::New(env, "ok");
  if (errno == EAGAIN) return Napi::String::New(env, "not-equal");
  if (errno == ETIMEDOUT) return Napi::String::New(env, "timed-out");
  return Napi::String::New(env, "ok");  // EINTR: the caller re-checks its condition
#else
  // Without futex: a short sleep; the JS barrier loops on its condition.
  if (__atomic_load_n(w, __ATOMIC_SEQ_CST) != expected) return Napi::String::New(env, "not-equal");
  usleep(ms >= 0 && ms < 1 ? static_cast<useconds_t>(ms * 1000) : 200);
  return Napi::String::New(env, "ok");
#endif
}

// futexWake(buffer, byteOffset, count) -> number of waiters woken
Napi::Value FutexWake(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Args args(info, "futexWake");
  int32_t* w = Word(args, info);
  const bool all = info.Length() <= 2 || info[2].IsUndefined();
  const int32_t count = all ? INT_MAX : (int32_t)args.Int(2, "count", 0, INT32_MAX);
  if (!w || !args) return args.Fail();
#if defined(__linux__)
  long r = syscall(SYS_futex, w, FUTEX_WAKE, count, nullptr, nullptr, 0);
  return Napi::Number::New(env, r < 0 ? 0 : static_cast<double>(r));
#else
  (void)count;
  return Napi::Number::New(env, 0);
#endif
}

}  // namespace

void InitShm(Napi::Env env, Napi::Object exports) {
  exports.Set("shmCreate", Napi::Function::New(env, ShmCreate, "shmCreate"));
  exports.Set("shmOpen", Napi::Function::New(env, ShmOpen, "shmOpen"));
  exports.Set("shmUnlink", Napi::Function::New(env, ShmUnlink, "shmUnlink"));
  exports.Set("futexWait", Napi::Function::New(env, FutexWait, "futexWait"));
  exports.Set("futexWake", Napi::Function::New(env, FutexWake, "futexWake"));
}
}  // namespace cmdcm
