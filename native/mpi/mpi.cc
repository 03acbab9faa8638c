// MPI for the `--transport mpi` trainer (src/parallel/mpi/): the handful of collectives it needs,
// each with a deadline. A separate addon, cmdcm_mpi.node, built only when native/build-config.cjs
// finds an MPI compiler wrapper (binding.gyp): the main addon never links libmpi, so a binary built
// on a machine with MPI still loads on one without it. Without it the TypeScript side says what to
// install.
//
// Every collective is posted non-blocking and then polled until it completes or its deadline
// passes: a blocking MPI call on a rank whose peer hangs (or died without the launcher noticing)
// would wait forever. While it polls, a rank also answers liveness pings, so when a deadline passes
// the rank can ask every other rank whether it is alive and name those that did not answer.
//
// MPI state is per process (MPI_Init once per process), unlike the rest of the addon, which is
// context-aware: only the main thread of a rank calls these functions.
#include "addon.h"

#include <dlfcn.h>
// the C API only: MPI's C++ bindings are deprecated and their headers warn under -Wextra
#define OMPI_SKIP_MPICXX 1
#define MPICH_SKIP_MPICXX 1
#include <mpi.h>
#include <time.h>

#include <chrono>
#include <cmath>
#include <initializer_list>
#include <string>
#include <vector>

namespace cmdcm {
namespace {

// Argument access for this addon's few entry points (they run on a rank's main thread and are
// called by src/parallel/mpi/binding.ts only). Every typed array is checked (TypeOf, Blocks, or the
// checks in Shard) before Ptr/Len read it; a number argument that is not a number reads as NaN/0
// with a TypeError pending, which the entry points surface before any MPI call (NumbersOk).
template <typename T>
T* Ptr(const Napi::Value& v) {
  void* data = nullptr;
  size_t len = 0;
  napi_typedarray_type type;
  if (napi_get_typedarray_info(v.Env(), v, &type, &len, &data, nullptr, nullptr) != napi_ok) return nullptr;
  return static_cast<T*>(data);
}
size_t Len(const Napi::Value& v) {
  size_t len = 0;
  napi_typedarray_type type;
  if (napi_get_typedarray_info(v.Env(), v, &type, &len, nullptr, nullptr, nullptr) != napi_ok) return 0;
  return len;
}
double D(const Napi::CallbackInfo& info, size_t i) { return i < info.Length() && info[i].IsNumber() ? info[i].As<Napi::Number>().DoubleValue() : NAN; }
int I(const Napi::CallbackInfo& info, size_t i) { const double d = D(info, i); return d == d ? (int)d : 0; }
bool B(const Napi::CallbackInfo& info, size_t i) { return i < info.Length() && info[i].ToBoolean().Value(); }
// The number arguments `idx` of an entry point: a TypeError naming the first that is not one.
bool NumbersOk(const Napi::CallbackInfo& info, const char* fn, std::initializer_list<size_t> idx) {
  for (size_t i : idx) {
    if (i >= info.Length() || !info[i].IsNumber()) {
      Napi::TypeError::New(info.Env(), std::string(fn) + ": argument " + std::to_string(i) + " must be a number").ThrowAsJavaScriptException();
      return false;
    }
  }
  return true;
}

MPI_Comm gComm = MPI_COMM_NULL;  // the collectives
MPI_Comm gPing = MPI_COMM_NULL;  // liveness pings, apart so a probe never matches collective traffic
int gRank = 0, gSize = 1;
bool gInit = false;
constexpr int kTagPing = 1, kTagPong = 2;

double NowMs() {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// Answer every ping that has arrived (the payload is echoed so the asker can drop stale answers).
void ServicePings() {
  if (gPing == MPI_COMM_NULL) return;
  for (;;) {
    int flag = 0;
    MPI_Status st;
    MPI_Iprobe(MPI_ANY_SOURCE, kTagPing, gPing, &flag, &st);
    if (!flag) return;
    int round = 0;
    MPI_Recv(&round, 1, MPI_INT, st.MPI_SOURCE, kTagPing, gPing, MPI_STATUS_IGNORE);
    MPI_Request r;
    MPI_Isend(&round, 1, MPI_INT, st.MPI_SOURCE, kTagPong, gPing, &r);
    // a 4-byte message goes eagerly; the request is not waited for, so a dead asker cannot block us
    MPI_Request_free(&r);
  }
}

// Polls until done or the deadline: a short spin, then sleeps growing to 200 µs, so a rank that
// waits for a slower one does not take a core from it (2 ranks on 2 cores in CI and bench).
bool WaitAll(std::vector<MPI_Request>& reqs, double timeoutMs) {
  const double deadline = NowMs() + timeoutMs;
  long sleepNs = 0;
  for (int spin = 0;; spin++) {
    int done = 0;
    MPI_Testall((int)reqs.size(), reqs.data(), &done, MPI_STATUSES_IGNORE);
    if (done) return true;
    ServicePings();
    if (NowMs() > deadline) return false;
    if (spin > 200) {
      sleepNs = sleepNs == 0 ? 2000 : std::min(sleepNs * 2, 200000L);
      timespec ts{0, sleepNs};
      nanosleep(&ts, nullptr);
    }
  }
}

// Which other ranks answer a ping within pingMs (this rank keeps answering theirs meanwhile).
std::vector<int> SilentRanks(double pingMs) {
  static int round = 0;
  round++;
  std::vector<int> answered(gSize, 0), got(gSize, 0);
  std::vector<MPI_Request> recvs;
  std::vector<int> from;
  answered[gRank] = 1;
  for (int r = 0; r < gSize; r++) {
    if (r == gRank) continue;
    MPI_Request s;
    MPI_Isend(&round, 1, MPI_INT, r, kTagPing, gPing, &s);
    MPI_Request_free(&s);
  }
  const double deadline = NowMs() + pingMs;
  while (NowMs() < deadline) {
    ServicePings();
    int flag = 0;
    MPI_Status st;
    MPI_Iprobe(MPI_ANY_SOURCE, kTagPong, gPing, &flag, &st);
    if (flag) {
      int echo = 0;
      MPI_Recv(&echo, 1, MPI_INT, st.MPI_SOURCE, kTagPong, gPing, MPI_STATUS_IGNORE);
      if (echo == round) answered[st.MPI_SOURCE] = 1;
      bool all = true;
      for (int r = 0; r < gSize; r++) all = all && answered[r];
      if (all) break;
    } else {
      timespec ts{0, 100000};
      nanosleep(&ts, nullptr);
    }
  }
  std::vector<int> silent;
  for (int r = 0; r < gSize; r++) if (!answered[r]) silent.push_back(r);
  return silent;
}

// null when the requests completed; otherwise { timedOut: true, silent: [ranks] } for the caller
// to turn into an error naming them (the requests are abandoned: the job is about to be aborted).
Napi::Value Finish(Napi::Env env, std::vector<MPI_Request>& reqs, double timeoutMs) {
  if (WaitAll(reqs, timeoutMs)) return env.Null();
  std::vector<int> silent = SilentRanks(std::min(5000.0, std::max(500.0, timeoutMs / 4)));
  Napi::Object o = Napi::Object::New(env);
  o.Set("timedOut", true);
  Napi::Array a = Napi::Array::New(env, silent.size());
  for (size_t i = 0; i < silent.size(); i++) a.Set((uint32_t)i, silent[i]);
  o.Set("silent", a);
  return o;
}

bool TypeOf(const Napi::Value& v, MPI_Datatype* t, size_t* elemBytes) {
  if (!v.IsTypedArray()) return false;
  switch (v.As<Napi::TypedArray>().TypedArrayType()) {
    case napi_float32_array: *t = MPI_FLOAT; *elemBytes = 4; return true;
    case napi_int32_array: *t = MPI_INT; *elemBytes = 4; return true;
    case napi_float64_array: *t = MPI_DOUBLE; *elemBytes = 8; return true;
    case napi_uint8_array: *t = MPI_BYTE; *elemBytes = 1; return true;
    default: return false;
  }
}

bool Ready(Napi::Env env) {
  if (gInit) return true;
  ThrowRange(env, "MPI is not initialised (call mpiInit first)");
  return false;
}

std::string Err(int rc) {
  char s[MPI_MAX_ERROR_STRING];
  int n = 0;
  MPI_Error_string(rc, s, &n);
  return std::string(s, n);
}

// mpiInit() → { rank, size }. Idempotent.
Napi::Value Init(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!gInit) {
    // Node loads addons RTLD_LOCAL; Open MPI's plugins expect libmpi's symbols to be global, so
    // promote the already-loaded library before MPI_Init opens them.
    Dl_info dl;
    if (dladdr(reinterpret_cast<void*>(&MPI_Init_thread), &dl) && dl.dli_fname) dlopen(dl.dli_fname, RTLD_NOW | RTLD_GLOBAL | RTLD_NOLOAD);
    int provided = 0;
    int rc = MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided);
    if (rc != MPI_SUCCESS) return ThrowRange(env, "MPI_Init_thread failed: " + Err(rc));
    MPI_Comm_dup(MPI_COMM_WORLD, &gComm);
    MPI_Comm_dup(MPI_COMM_WORLD, &gPing);
    // errors come back as return codes (turned into exceptions), not as an abort inside MPI
    MPI_Comm_set_errhandler(gComm, MPI_ERRORS_RETURN);
    MPI_Comm_set_errhandler(gPing, MPI_ERRORS_RETURN);
    MPI_Comm_rank(gComm, &gRank);
    MPI_Comm_size(gComm, &gSize);
    gInit = true;
  }
  Napi::Object o = Napi::Object::New(env);
  o.Set("rank", gRank);
  o.Set("size", gSize);
  char name[MPI_MAX_PROCESSOR_NAME];
  int len = 0;
  MPI_Get_processor_name(name, &len);
  o.Set("host", std::string(name, len));
  return o;
}

Napi::Value Finalize(const Napi::CallbackInfo& info) {
  if (gInit) {
    MPI_Comm_free(&gComm);
    MPI_Comm_free(&gPing);
    MPI_Finalize();
    gInit = false;
  }
  return info.Env().Undefined();
}

// mpiAbort(code): ends every rank of the job (the launcher kills them).
Napi::Value Abort(const Napi::CallbackInfo& info) {
  if (!NumbersOk(info, "mpiAbort", {0})) return info.Env().Undefined();
  if (gInit) MPI_Abort(MPI_COMM_WORLD, I(info, 0));
  return info.Env().Undefined();
}

#define CHECK_RC(rc, what) \
  if ((rc) != MPI_SUCCESS) return ThrowRange(env, std::string(what) + ": " + Err(rc))

// Counts and displacements (Int32Array of size ranks) must keep every block inside its array.
bool Blocks(Napi::Env env, const char* what, const Napi::Value& counts, const Napi::Value& displs, size_t arrayLen) {
  const auto isI32 = [](const Napi::Value& v) { return v.IsTypedArray() && v.As<Napi::TypedArray>().TypedArrayType() == napi_int32_array; };
  if (!isI32(counts) || !isI32(displs) || Len(counts) < (size_t)gSize || Len(displs) < (size_t)gSize) {
    ThrowRange(env, std::string(what) + ": counts and displacements must be Int32Arrays of one entry per rank");
    return false;
  }
  const int32_t* c = Ptr<int32_t>(counts);
  const int32_t* d = Ptr<int32_t>(displs);
  for (int r = 0; r < gSize; r++) {
    if (c[r] < 0 || d[r] < 0 || (size_t)c[r] + (size_t)d[r] > arrayLen) {
      ThrowRange(env, std::string(what) + ": block " + std::to_string(r) + " [" + std::to_string(d[r]) + ", +" + std::to_string(c[r]) + ") outside an array of " + std::to_string(arrayLen));
      return false;
    }
  }
  return true;
}

// mpiAlltoallv(send, sendCounts, sendDispls, recv, recvCounts, recvDispls, timeoutMs) → null | timeout
Napi::Value Alltoallv(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!Ready(env) || !NumbersOk(info, "mpiAlltoallv", {6})) return env.Undefined();
  MPI_Datatype ts, tr;
  size_t es, er;
  if (!TypeOf(info[0], &ts, &es) || !TypeOf(info[3], &tr, &er) || ts != tr) return ThrowRange(env, "mpiAlltoallv: send and recv must be typed arrays of one element type");
  if (!Blocks(env, "mpiAlltoallv send", info[1], info[2], Len(info[0])) || !Blocks(env, "mpiAlltoallv recv", info[4], info[5], Len(info[3]))) return env.Undefined();
  std::vector<MPI_Request> reqs(1);
  int rc = MPI_Ialltoallv(Ptr<void>(info[0]), Ptr<int>(info[1]), Ptr<int>(info[2]), ts, Ptr<void>(info[3]), Ptr<int>(info[4]), Ptr<int>(info[5]), tr, gComm, &reqs[0]);
  CHECK_RC(rc, "MPI_Ialltoallv");
  return Finish(env, reqs, D(info, 6));
}

// mpiAllgatherv(send, recv, recvCounts, recvDispls, timeoutMs) → null | timeout
Napi::Value Allgatherv(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!Ready(env) || !NumbersOk(info, "mpiAllgatherv", {4})) return env.Undefined();
  MPI_Datatype ts, tr;
  size_t es, er;
  if (!TypeOf(info[0], &ts, &es) || !TypeOf(info[1], &tr, &er) || ts != tr) return ThrowRange(env, "mpiAllgatherv: send and recv must be typed arrays of one element type");
  if (!Blocks(env, "mpiAllgatherv", info[2], info[3], Len(info[1]))) return env.Undefined();
  if ((size_t)Ptr<int32_t>(info[2])[gRank] != Len(info[0])) return ThrowRange(env, "mpiAllgatherv: this rank's count differs from its send length");
  std::vector<MPI_Request> reqs(1);
  int rc = MPI_Iallgatherv(Ptr<void>(info[0]), (int)Len(info[0]), ts, Ptr<void>(info[1]), Ptr<int>(info[2]), Ptr<int>(info[3]), tr, gComm, &reqs[0]);
  CHECK_RC(rc, "MPI_Iallgatherv");
  return Finish(env, reqs, D(info, 4));
}

// mpiBcast(buf, root, timeoutMs) → null | timeout
Napi::Value Bcast(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!Ready(env) || !NumbersOk(info, "mpiBcast", {1, 2})) return env.Undefined();
  MPI_Datatype t;
  size_t e;
  if (!TypeOf(info[0], &t, &e)) return ThrowRange(env, "mpiBcast: buffer must be a typed array");
  const int root = I(info, 1);
  if (root < 0 || root >= gSize) return ThrowRange(env, "mpiBcast: root " + std::to_string(root) + " outside the job");
  std::vector<MPI_Request> reqs(1);
  int rc = MPI_Ibcast(Ptr<void>(info[0]), (int)Len(info[0]), t, root, gComm, &reqs[0]);
  CHECK_RC(rc, "MPI_Ibcast");
  return Finish(env, reqs, D(info, 2));
}

// Rows of rank u's shard of a rows × dim table whose row r belongs to rank r mod size.
int ShardRows(size_t rows, int u) { return rows > (size_t)u ? (int)((rows - u + gSize - 1) / gSize) : 0; }

// mpiShard(full, shard, rows, dim, toShards, timeoutMs) → null | timeout
// toShards: rank 0's `full` (rows × dim) goes out row by row to the rank owning each row
// (row r → rank r mod size, at local row r div size of its `shard`); otherwise every shard comes
// back into rank 0's `full`. Strided MPI datatypes read and write `full` in place: rank 0 needs no
// second copy of the table. `full` is ignored (may be empty) on the other ranks.
Napi::Value Shard(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!Ready(env) || !NumbersOk(info, "mpiShard", {2, 3, 5})) return env.Undefined();
  if (!info[0].IsTypedArray() || !info[1].IsTypedArray() || info[0].As<Napi::TypedArray>().TypedArrayType() != napi_float32_array ||
      info[1].As<Napi::TypedArray>().TypedArrayType() != napi_float32_array) return ThrowRange(env, "mpiShard: full and shard must be Float32Arrays");
  const double rowsD = D(info, 2);
  const int dim = I(info, 3);
  const bool toShards = B(info, 4);
  if (!(rowsD >= 0) || dim <= 0) return ThrowRange(env, "mpiShard: bad rows or dim");
  const size_t rows = (size_t)rowsD;
  float* full = Ptr<float>(info[0]);
  float* shard = Ptr<float>(info[1]);
  const size_t mine = (size_t)ShardRows(rows, gRank);
  if (Len(info[1]) < mine * dim) return ThrowRange(env, "mpiShard: shard holds " + std::to_string(Len(info[1])) + " values, this rank owns " + std::to_string(mine) + " rows × " + std::to_string(dim));
  if (gRank == 0 && Len(info[0]) < rows * dim) return ThrowRange(env, "mpiShard: full table smaller than rows × dim on rank 0");
  std::vector<MPI_Request> reqs;
  std::vector<MPI_Datatype> types;
  if (gRank == 0) {
    for (size_t k = 0; k < mine; k++) {
      float* a = full + k * gSize * (size_t)dim;
      float* b = shard + k * (size_t)dim;
      if (toShards) std::copy(a, a + dim, b);
      else std::copy(b, b + dim, a);
    }
    for (int u = 1; u < gSize; u++) {
      const int n = ShardRows(rows, u);
      if (n == 0) continue;
      MPI_Datatype t;
      MPI_Type_vector(n, dim, gSize * dim, MPI_FLOAT, &t);
      MPI_Type_commit(&t);
      types.push_back(t);
      reqs.emplace_back();
      int rc = toShards ? MPI_Isend(full + (size_t)u * dim, 1, t, u, 7, gComm, &reqs.back())
                        : MPI_Irecv(full + (size_t)u * dim, 1, t, u, 8, gComm, &reqs.back());
      CHECK_RC(rc, "mpiShard (rank 0)");
    }
  } else if (mine > 0) {
    // counted in rows of dim floats: a shard of a 10⁹-row table holds more than 2³¹ floats (MPI
    // counts are int), but far fewer than 2³¹ rows
    MPI_Datatype row;
    MPI_Type_contiguous(dim, MPI_FLOAT, &row);
    MPI_Type_commit(&row);
    types.push_back(row);
    reqs.emplace_back();
    int rc = toShards ? MPI_Irecv(shard, (int)mine, row, 0, 7, gComm, &reqs.back())
                      : MPI_Isend(shard, (int)mine, row, 0, 8, gComm, &reqs.back());
    CHECK_RC(rc, "mpiShard");
  }
  Napi::Value out = Finish(env, reqs, D(info, 5));
  for (MPI_Datatype& t : types) MPI_Type_free(&t);
  return out;
}

// mpiBarrier(timeoutMs) → null | timeout
Napi::Value Barrier(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!Ready(env) || !NumbersOk(info, "mpiBarrier", {0})) return env.Undefined();
  std::vector<MPI_Request> reqs(1);
  int rc = MPI_Ibarrier(gComm, &reqs[0]);
  CHECK_RC(rc, "MPI_Ibarrier");
  return Finish(env, reqs, D(info, 0));
}

}  // namespace
}  // namespace cmdcm

static Napi::Object InitMpiModule(Napi::Env env, Napi::Object exports) {
  using namespace cmdcm;
  exports.Set("mpiInit", Napi::Function::New(env, Init));
  exports.Set("mpiFinalize", Napi::Function::New(env, Finalize));
  exports.Set("mpiAbort", Napi::Function::New(env, Abort));
  exports.Set("mpiAlltoallv", Napi::Function::New(env, Alltoallv));
  exports.Set("mpiAllgatherv", Napi::Function::New(env, Allgatherv));
  exports.Set("mpiBcast", Napi::Function::New(env, Bcast));
  exports.Set("mpiShard", Napi::Function::New(env, Shard));
  exports.Set("mpiBarrier", Napi::Function::New(env, Barrier));
  return exports;
}

NODE_API_MODULE(cmdcm_mpi, InitMpiModule)
