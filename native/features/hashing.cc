// Feature hashing (HACKING.md "Hashed table"); src/features/hashing.ts computes the same buckets.
// bucket = offset + (fmix64(FNV-1a-64(utf8(field + "\x1f" + value))) mod size), unsigned.
#include <cstring>
#include <string>

#include "addon.h"
#include "args.h"

namespace cmdcm {
namespace {

constexpr uint64_t kFnvBasis = 0xcbf29ce484222325ULL;
constexpr uint64_t kFnvPrime = 0x100000001b3ULL;

inline uint64_t FnvBytes(uint64_t h, const uint8_t* p, size_t n) {
  for (size_t i = 0; i < n; i++) {
    h ^= p[i];
    h *= kFnvPrime;
  }
  return h;
}

inline uint64_t Fmix64(uint64_t k) {
  k ^= k >> 33;
  k *= 0xff51afd7ed558ccdULL;
  k ^= k >> 33;
  k *= 0xc4ceb53fe1a85ec5ULL;
  k ^= k >> 33;
  return k;
}

// FNV state after `field` and the unit separator: every value of a field continues from it, so the
// field name is hashed once per call instead of once per value.
uint64_t FieldPrefix(const std::string& field) {
  uint64_t h = FnvBytes(kFnvBasis, reinterpret_cast<const uint8_t*>(field.data()), field.size());
  const uint8_t sep = 0x1f;
  return FnvBytes(h, &sep, 1);
}

// hashVocab(field, offset, size, bytes: Uint8Array, units: Int32Array, out: Int32Array) -> out
// `bytes` is the UTF-8 of values.join("\0"): one JS-side encode for all values instead of one per
// value; the separator keeps a trailing high surrogate and the next value's leading low surrogate
// from fusing into one code point. `units[i]` is values[i].length (UTF-16 code units), which JS
// knows for free; the byte extent of each value is recovered here by walking the UTF-8 lead bytes
// (a 4-byte sequence is 2 units, every shorter one 1 unit, lone surrogates included since they
// were encoded as the 3-byte U+FFFD).
Napi::Value HashVocab(const Napi::CallbackInfo& info) {
  Args args(info, "hashVocab");
  Napi::Env env = info.Env();
  const std::string field = args.Str(0, "field");
  if (!args) return env.Undefined();
  int64_t offset, size;
  if (!args.Int(1, "offset", 0, INT32_MAX, &offset)) return env.Undefined();
  if (!args.Int(2, "size", 1, INT32_MAX, &size)) return env.Undefined();
  if (offset + size - 1 > INT32_MAX) {
    args.RangeError("offset + size exceeds the int32 range");
    return args.Fail();
  }
  uint8_t* bytes;
  int32_t *units, *out;
  size_t nBytes, n, nOut;
  if (!args.Typed(3, "bytes", &bytes, &nBytes)) return env.Undefined();
  if (!args.Typed(4, "units", &units, &n)) return env.Undefined();
  if (!args.Typed(5, "out", &out, &nOut)) return env.Undefined();
  if (nOut < n) {
    args.RangeError("out is shorter than units");
    return args.Fail();
  }

  const uint64_t prefix = FieldPrefix(field);
  const uint64_t usize = static_cast<uint64_t>(size);
  const int32_t off = static_cast<int32_t>(offset);

  int64_t unitSum = 0;
  for (size_t i = 0; i < n; i++) {
    if (units[i] < 0) {
      args.RangeError("units must be non-negative");
      return args.Fail();
    }
    unitSum += units[i];
  }
  const int64_t seps = n > 0 ? static_cast<int64_t>(n) - 1 : 0;

  if (static_cast<int64_t>(nBytes) == unitSum + seps) {
    // Every character is ASCII (any other one has more bytes than units): extents are the units.
    size_t pos = 0;
    for (size_t i = 0; i < n; i++) {
      const size_t len = static_cast<size_t>(units[i]);
      out[i] = off + static_cast<int32_t>(Fmix64(FnvBytes(prefix, bytes + pos, len)) % usize);
      pos += len + 1;
    }
    return info[5];
  }

  size_t pos = 0;
  for (size_t i = 0; i < n; i++) {
    int64_t left = units[i];
    uint64_t h = prefix;
    while (left > 0) {
      if (pos >= nBytes) {
        args.RangeError("bytes end before the units say");
        return args.Fail();
      }
      const uint8_t lead = bytes[pos];
      const size_t len = lead < 0x80 ? 1 : lead < 0xe0 ? 2 : lead < 0xf0 ? 3 : 4;
      if (pos + len > nBytes) {
        args.RangeError("bytes end inside a UTF-8 sequence");
        return args.Fail();
      }
      h = FnvBytes(h, bytes + pos, len);
      pos += len;
      left -= len == 4 ? 2 : 1;
    }
    out[i] = off + static_cast<int32_t>(Fmix64(h) % usize);
    pos += 1;  // the separator
  }
  return info[5];
}

// hashBytes(field, offset, size, bytes: Uint8Array, starts: Int32Array (n + 1), out: Int32Array)
// Value i is bytes[starts[i], starts[i + 1]): for callers that hold a vocabulary as UTF-8 already
// (e.g. ids sliced from the log's bytes), where no string ever has to cross into C++.
Napi::Value HashBytes(const Napi::CallbackInfo& info) {
  Args args(info, "hashBytes");
  Napi::Env env = info.Env();
  const std::string field = args.Str(0, "field");
  if (!args) return env.Undefined();
  int64_t offset, size;
  if (!args.Int(1, "offset", 0, INT32_MAX, &offset)) return env.Undefined();
  if (!args.Int(2, "size", 1, INT32_MAX, &size)) return env.Undefined();
  uint8_t* bytes;
  int32_t *starts, *out;
  size_t nBytes, nStarts, nOut;
  if (!args.Typed(3, "bytes", &bytes, &nBytes)) return env.Undefined();
  if (!args.Typed(4, "starts", &starts, &nStarts)) return env.Undefined();
  if (!args.Typed(5, "out", &out, &nOut)) return env.Undefined();
  if (nStarts < 1) {
    args.RangeError("starts must have n + 1 entries");
    return args.Fail();
  }
  const size_t n = nStarts - 1;
  if (nOut < n) {
    args.RangeError("out is shorter than the number of values");
    return args.Fail();
  }
  for (size_t i = 0; i < n; i++) {
    if (starts[i] < 0 || starts[i + 1] < starts[i] || static_cast<size_t>(starts[i + 1]) > nBytes) {
      args.RangeError("starts must be non-decreasing offsets into bytes");
      return args.Fail();
    }
  }
  const uint64_t prefix = FieldPrefix(field);
  const uint64_t usize = static_cast<uint64_t>(size);
  const int32_t off = static_cast<int32_t>(offset);
  for (size_t i = 0; i < n; i++) {
    out[i] = off + static_cast<int32_t>(Fmix64(FnvBytes(prefix, bytes + starts[i], starts[i + 1] - starts[i])) % usize);
  }
  return info[5];
}

}  // namespace

void InitHashing(Napi::Env env, Napi::Object exports) {
  exports.Set("hashVocab", Napi::Function::New(env, HashVocab, "hashVocab"));
  exports.Set("hashBytes", Napi::Function::New(env, HashBytes, "hashBytes"));
}
}  // namespace cmdcm
