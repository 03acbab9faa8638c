// The probe loop of IdInterner.internBatch (src/data/readers/intern.ts, the reference and the
// fallback) over its open-addressing table of ids below 2^31. It stops at the first key it cannot
// finish (a new id, or a key outside that table), which the TypeScript side then inserts: ids stay
// dense in first-seen order and the table has one owner.
#include <cstdint>

#include "addon.h"
#include "args.h"

namespace cmdcm {
namespace {

// internSmallRun(table, bits, keys, stride, first, from, m, out, outBase) -> index of the first key
// in [from, m) it did not intern (m when all were found); out[outBase + k] = id of key k.
Napi::Value InternSmallRun(const Napi::CallbackInfo& info) {
  Args args(info, "internSmallRun");
  Napi::Env env = info.Env();
  int32_t *table, *out;
  double* keys;
  size_t nTable, nKeys, nOut;
  int64_t bits, stride, first, from, m, outBase;
  if (!args.Typed(0, "table", &table, &nTable)) return env.Undefined();
  if (!args.Int(1, "bits", 1, 30, &bits)) return env.Undefined();
  if (!args.Typed(2, "keys", &keys, &nKeys)) return env.Undefined();
  if (!args.Int(3, "stride", 1, 64, &stride)) return env.Undefined();
  if (!args.Int(4, "first", 0, stride - 1, &first)) return env.Undefined();
  if (!args.Int(5, "from", 0, INT32_MAX, &from)) return env.Undefined();
  if (!args.Int(6, "m", from, INT32_MAX, &m)) return env.Undefined();
  if (!args.Typed(7, "out", &out, &nOut)) return env.Undefined();
  if (!args.Int(8, "outBase", 0, INT32_MAX, &outBase)) return env.Undefined();
  if (nTable < (size_t{2} << bits) || (m > 0 && static_cast<size_t>((m - 1) * stride + first) >= nKeys) ||
      static_cast<size_t>(outBase + m) > nOut) {
    args.RangeError("arrays too short");
    return args.Fail();
  }
  const uint32_t mask = (uint32_t{1} << bits) - 1, shift = 32 - static_cast<uint32_t>(bits);
  int64_t k = from;
  for (; k < m; k++) {
    const double v = keys[k * stride + first];
    if (!(v >= 0 && v < 2147483648.0)) break;
    const int32_t key = static_cast<int32_t>(v);
    // Math.imul(v, 0x9e3779b1) >>> shift
    uint32_t h = (static_cast<uint32_t>(key) * 0x9e3779b1u) >> shift;
    int32_t id = -1;
    for (;;) {
      const int32_t x = table[2 * h + 1];
      if (x == 0) break;
      if (table[2 * h] == key) { id = x - 1; break; }
      h = (h + 1) & mask;
    }
    if (id < 0) break;
    out[outBase + k] = id;
  }
  return Napi::Number::New(env, static_cast<double>(k));
}

}  // namespace

void InitIntern(Napi::Env env, Napi::Object exports) {
  exports.Set("internSmallRun", Napi::Function::New(env, InternSmallRun, "internSmallRun"));
}

}  // namespace cmdcm
