// Host-side unique-row gather of the embedding table (src/model/embedding.ts gatherBatchRows).
// A bitmap over the table's rows marks the touched rows; scanning it yields them already ascending,
// and a per-word prefix count turns "is set" into "rank among set bits", which is the local index.
// So dedupe + sort + remap is O(ids + tableRows / 64) with no sort and no hashing, and it needs only
// tableRows / 8 + tableRows / 16 bytes of scratch per call (192 KiB for a 1M-row table).
#include <napi.h>

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

namespace cmdcm {
namespace {

struct I32View {
  const int32_t* p;
  size_t n;
};

// The addon is built without C++ exceptions (NODE_ADDON_API_DISABLE_CPP_EXCEPTIONS): errors are
// set pending on the env and the function returns undefined.
Napi::Value Fail(Napi::Env env, const std::string& msg) {
  Napi::Error::New(env, msg).ThrowAsJavaScriptException();
  return env.Undefined();
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
  if (!info[0].IsTypedArray() || info[0].As<Napi::TypedArray>().TypedArrayType() != napi_float32_array)
    return Fail(env, "embeddingGatherRows: table must be a Float32Array");
  auto tableArr = info[0].As<Napi::Float32Array>();
  const float* table = tableArr.Data();
  const int64_t dimI = info[1].As<Napi::Number>().Int64Value();
  if (dimI <= 0) return Fail(env, "embeddingGatherRows: dim must be positive");
  const size_t dim = (size_t)dimI;
  const size_t tableRows = tableArr.ElementLength() / dim;
  if (tableRows * dim != tableArr.ElementLength())
    return Fail(env, "embedding table length " + std::to_string(tableArr.ElementLength()) +
                                    " is not a multiple of dim " + std::to_string(dim));
  if (!info[2].IsArray()) return Fail(env, "embeddingGatherRows: ids must be an array of Int32Array");
  auto list = info[2].As<Napi::Array>();
  const uint32_t nArr = list.Length();
  std::vector<I32View> ids(nArr);
  for (uint32_t a = 0; a < nArr; a++) {
    Napi::Value v = list.Get(a);
    if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_int32_array)
      return Fail(env, "embeddingGatherRows: each ids entry must be an Int32Array");
    auto arr = v.As<Napi::Int32Array>();
    ids[a] = {arr.Data(), arr.ElementLength()};
  }

  const size_t words = (tableRows + 63) / 64;
  std::vector<uint64_t> bits(words, 0);
  for (const I32View& a : ids) {
    for (size_t i = 0; i < a.n; i++) {
      const int32_t v = a.p[i];
      if (v < 0 || (size_t)v >= tableRows)
        return Fail(env, "embedding row " + std::to_string(v) + " outside the table (0.." +
                                        std::to_string((long long)tableRows - 1) + "): batch and schema disagree");
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

  std::vector<Napi::Int32Array> localOut;
  if (info.Length() > 5 && !info[5].IsUndefined() && !info[5].IsNull()) {
    if (!info[5].IsArray() || info[5].As<Napi::Array>().Length() != nArr)
      return Fail(env, "embeddingGatherRows: localOut must be an array of " + std::to_string(nArr) + " Int32Array (one per ids array)");
    auto outs = info[5].As<Napi::Array>();
    for (uint32_t a = 0; a < nArr; a++) {
      Napi::Value v = outs.Get(a);
      if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_int32_array ||
          v.As<Napi::Int32Array>().ElementLength() != ids[a].n)
        return Fail(env, "embeddingGatherRows: localOut[" + std::to_string(a) + "] must be an Int32Array of " +
                             std::to_string(ids[a].n) + " elements (the length of ids[" + std::to_string(a) + "])");
      localOut.push_back(v.As<Napi::Int32Array>());
    }
  }

  const bool padRow = info.Length() > 4 && info[4].ToBoolean().Value();
  const size_t nValues = ((size_t)count + (padRow ? 1 : 0)) * dim;
  auto rows = Napi::Int32Array::New(env, count);
  Napi::Float32Array values;
  if (info.Length() > 3 && info[3].IsFunction()) {
    Napi::Value v = info[3].As<Napi::Function>().Call({Napi::Number::New(env, (double)nValues)});
    if (env.IsExceptionPending()) return env.Undefined();
    if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_float32_array ||
        v.As<Napi::Float32Array>().ElementLength() != nValues)
      return Fail(env, "embeddingGatherRows: alloc(n) must return a Float32Array of n elements");
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
    Napi::Int32Array out = localOut.empty() ? Napi::Int32Array::New(env, ids[a].n) : localOut[a];
    int32_t* op = out.Data();
    const int32_t* ip = ids[a].p;
    for (size_t i = 0; i < ids[a].n; i++) {
      const uint32_t v = (uint32_t)ip[i];
      const uint64_t word = bits[v >> 6];
      const uint64_t below = word & ((1ull << (v & 63)) - 1);
      // padding (v == 0) has its bit cleared: local 0
      op[i] = (word >> (v & 63)) & 1 ? (int32_t)(prefix[v >> 6] + __builtin_popcountll(below) + 1) : 0;
    }
    local.Set(a, out);
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
