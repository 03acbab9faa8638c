// Host-side unique-row gather of the embedding table (src/model/embedding.ts gatherBatchRows).
// A bitmap over the table's rows marks the touched rows; scanning it yields them already ascending,
// and a per-word prefix count turns "is set" into "rank among set bits", which is the local index.
// So dedupe + sort + remap is O(ids + tableRows / 64) with no sort and no hashing, and it needs only
// tableRows / 8 + tableRows / 16 bytes of scratch per call (192 KiB for a 1M-row table).
#include <napi.h>

#include "args.h"

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

namespace cmdcm {
namespace {

// An element of a JS array argument as a typed array of T (Args checks positional arguments only).
template <typename T>
View<T> ArrayOf(Args& args, const Napi::Value& v, const std::string& name) {
  View<T> out;
  void* data = nullptr;
  if (!v.IsTypedArray() || napi_get_typedarray_info(args.Env(), v, &out.type, &out.length, &data, nullptr, nullptr) != napi_ok ||
      !ElementOf<T>::Is(out.type)) {
    args.TypeError(name + " must be a" + (ElementOf<T>::kName[0] == 'I' ? "n " : " ") + ElementOf<T>::kName);
    return View<T>();
  }
  out.data = static_cast<T*>(data);
  return out;
}

// embeddingGatherRows(table Float32Array, dim, ids Int32Array[], alloc?, padRow?, localOut?) ->
//   { rows Int32Array (unique non-zero ids ascending), values Float32Array (rows × dim),
//     local Int32Array[] (per id: 0 for padding, else 1 + its row's index in rows) }
// alloc(n), when given, supplies the values array (a Float32Array of exactly n elements, e.g. one
// the engine recycles); with padRow the values start with one zero row (the padding row, so that
// local index i is values row i), (rows + 1) × dim.
// localOut, when given, is one Int32Array per ids array, of its length, that local is written into
// (the caller reuses them across batches: otherwise a 2k-sample batch's histories take ~1.6 MB of
// fresh off-heap memory a step, which V8 counts toward starting a full collection).
Napi::Value GatherRows(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Args args(info, "embeddingGatherRows");
  const auto tableArr = args.Array<float>(0, "table");
  const size_t dim = (size_t)args.Int(1, "dim", 1, INT32_MAX);
  if (!args) return args.Fail();
  const float* table = tableArr.data;
  const size_t tableRows = tableArr.length / dim;
  if (!args.Require(tableRows * dim == tableArr.length, [&] { return "embedding table length " + std::to_string(tableArr.length) +
                                                             " is not a multiple of dim " + std::to_string(dim); }))
    return args.Fail();
  if (!args.RequireType(info.Length() > 2 && info[2].IsArray(), "ids must be an array of Int32Array")) return args.Fail();
  auto list = info[2].As<Napi::Array>();
  const uint32_t nArr = list.Length();
  std::vector<View<int32_t>> ids(nArr);
  for (uint32_t a = 0; a < nArr; a++) {
    Napi::Value v = list.Get(a);
    if (env.IsExceptionPending()) return env.Undefined();
    ids[a] = ArrayOf<int32_t>(args, v, "ids[" + std::to_string(a) + "]");
    if (!args) return args.Fail();
  }
  const size_t words = (tableRows + 63) / 64;
  std::vector<uint64_t> bits(words, 0);
  for (const View<int32_t>& a : ids) {
    for (size_t i = 0; i < a.length; i++) {
      const int32_t v = a.data[i];
      if (v < 0 || (size_t)v >= tableRows) {
        args.RangeError("embedding row " + std::to_string(v) + " outside the table (0.." +
                        std::to_string((long long)tableRows - 1) + "): batch and schema disagree");
        return args.Fail();
      }
      bits[(size_t)v >> 6] |= 1ull << (v & 63);
    }
  }
  bits[0] &= ~1ull;  // row 0 is padding: never gathered, local index 0

  std::vector<uint32_t> prefix(words);
  uint32_t count = 0;
  for (size_t w = 0; w < words; w++) {
    prefix[w] = count;
    count += (uint32_t)__builtin_popcountll(bits[w]);
  }

  std::vector<View<int32_t>> localOut;
  std::vector<Napi::Value> localVals;
  if (info.Length() > 5 && !info[5].IsUndefined() && !info[5].IsNull()) {
    if (!args.RequireType(info[5].IsArray() && info[5].As<Napi::Array>().Length() == nArr, [&] { return "localOut must be an array of " + std::to_string(nArr) + " Int32Array (one per ids array)"; }))
      return args.Fail();
    auto outs = info[5].As<Napi::Array>();
    for (uint32_t a = 0; a < nArr; a++) {
      Napi::Value v = outs.Get(a);
      if (env.IsExceptionPending()) return env.Undefined();
      const std::string what = "localOut[" + std::to_string(a) + "] must be an Int32Array of " + std::to_string(ids[a].length) +
                               " elements (the length of ids[" + std::to_string(a) + "])";
      View<int32_t> out;
      void* data = nullptr;
      const bool typed = v.IsTypedArray() && napi_get_typedarray_info(env, v, &out.type, &out.length, &data, nullptr, nullptr) == napi_ok &&
                         out.type == napi_int32_array;
      if (!args.RequireType(typed, what) || !args.Require(out.length == ids[a].length, what)) return args.Fail();
      out.data = static_cast<int32_t*>(data);
      localOut.push_back(out);
      localVals.push_back(v);
    }
  }

  const bool padRow = info.Length() > 4 && info[4].ToBoolean().Value();
  const size_t nValues = ((size_t)count + (padRow ? 1 : 0)) * dim;
  auto rows = Napi::Int32Array::New(env, count);
  Napi::Float32Array values;
  if (info.Length() > 3 && info[3].IsFunction()) {
    Napi::Value v = info[3].As<Napi::Function>().Call({Napi::Number::New(env, (double)nValues)});
    if (env.IsExceptionPending()) return env.Undefined();
    if (!args.RequireType(v.IsTypedArray() && v.As<Napi::TypedArray>().TypedArrayType() == napi_float32_array &&
                              v.As<Napi::Float32Array>().ElementLength() == nValues,
                          "alloc(n) must return a Float32Array of n elements"))
      return args.Fail();
    values = v.As<Napi::Float32Array>();
  } else {
    values = Napi::Float32Array::New(env, nValues);
  }
  int32_t* rp = rows.Data();
  float* vp = values.Data();
  if (padRow) {
    std::memset(vp, 0, dim * sizeof(float));
    vp += dim;
  }
  size_t k = 0;
  for (size_t w = 0; w < words; w++) {
    uint64_t b = bits[w];
    while (b) {
      const size_t r = (w << 6) | (size_t)__builtin_ctzll(b);
      b &= b - 1;
      rp[k] = (int32_t)r;
      std::memcpy(vp + k * dim, table + r * dim, dim * sizeof(float));
      k++;
    }
  }

  auto local = Napi::Array::New(env, nArr);
  for (uint32_t a = 0; a < nArr; a++) {
    Napi::Int32Array fresh;
    int32_t* op;
    if (localOut.empty()) {
      fresh = Napi::Int32Array::New(env, ids[a].length);
      op = fresh.Data();
    } else {
      op = localOut[a].data;
    }
    const int32_t* ip = ids[a].data;
    for (size_t i = 0; i < ids[a].length; i++) {
      const uint32_t v = (uint32_t)ip[i];
      const uint64_t word = bits[v >> 6];
      const uint64_t below = word & ((1ull << (v & 63)) - 1);
      // padding (v == 0) has its bit cleared: local 0
      op[i] = (word >> (v & 63)) & 1 ? (int32_t)(prefix[v >> 6] + __builtin_popcountll(below) + 1) : 0;
    }
    local.Set(a, localOut.empty() ? Napi::Value(fresh) : localVals[a]);
  }

  auto res = Napi::Object::New(env);
  res.Set("rows", rows);
  res.Set("values", values);
  res.Set("local", local);
  return res;
}

}  // namespace

void InitEmbedding(Napi::Env env, Napi::Object exports) {
  exports.Set("embeddingGatherRows", Napi::Function::New(env, GatherRows, "embeddingGatherRows"));
}

}  // namespace cmdcm
