// Behavior-sequence packing (HACKING.md "Hashed table"); src/features/packing.ts is the reference.
// Zero-copy: reads the event columns and writes the caller's output arrays in place.
#include <algorithm>
#include <cstring>
#ifdef __AVX2__
#include <immintrin.h>
#endif

#include "addon.h"
#include "args.h"

namespace cmdcm {
namespace {

inline int64_t FloorDiv(int64_t a, int64_t b) {
  int64_t q = a / b;
  return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

struct PackArgs {
  const int32_t *time, *itemRow, *catRow, *userStart, *sampleUser, *sampleTime;
  const uint8_t* behavior;
  int64_t L, res, behOff, gapOff, G;
  int32_t *outSeq, *outLen;
};

inline int32_t GapBucket(int64_t gapSeconds, int64_t G) {
  const int64_t gapHours = gapSeconds / 3600;  // gapSeconds > 0, so truncation is the floor
  return gapHours > 0 ? static_cast<int32_t>(std::min<int64_t>(G - 1, 64 - __builtin_clzll(static_cast<uint64_t>(gapHours)))) : 0;
}

// Writes events [start, end) of one sample as (item, cat, behavior, gap) rows at dst, then zero
// padding up to L events. (Non-temporal stores were tried for large outputs: 6× slower here.)
inline void PackOne(const PackArgs& a, int64_t t, int32_t start, int32_t end, int32_t* dst) {
  int32_t e = start;
#ifdef __AVX2__
  // 4 events per step: gap hours by exact double division (t - te is an exact double, and the
  // correctly rounded quotient cannot cross an integer), 1 + floor(log2 h) from the exponent of
  // float(h) (exact: h < 2^24), then a 4×4 transpose into (item, cat, behavior, gap) rows.
  const __m256d tv = _mm256_set1_pd(static_cast<double>(t));
  const __m256d hour = _mm256_set1_pd(3600.0);
  const __m128i behOff = _mm_set1_epi32(static_cast<int32_t>(a.behOff));
  const __m128i gapOff = _mm_set1_epi32(static_cast<int32_t>(a.gapOff));
  const __m128i gMax = _mm_set1_epi32(static_cast<int32_t>(a.G - 1));
  const __m128i zero = _mm_setzero_si128();
  for (; e + 4 <= end; e += 4, dst += 16) {
    const __m128i te = _mm_loadu_si128(reinterpret_cast<const __m128i*>(a.time + e));
    const __m256d gap = _mm256_sub_pd(tv, _mm256_cvtepi32_pd(te));
    const __m128i h = _mm256_cvttpd_epi32(_mm256_floor_pd(_mm256_div_pd(gap, hour)));
    const __m128i expo = _mm_srli_epi32(_mm_castps_si128(_mm_cvtepi32_ps(h)), 23);
    __m128i bucket = _mm_max_epi32(_mm_sub_epi32(expo, _mm_set1_epi32(126)), zero);  // h = 0 -> 0
    bucket = _mm_min_epi32(bucket, gMax);
    int32_t b4;
    std::memcpy(&b4, a.behavior + e, 4);
    const __m128i beh = _mm_add_epi32(_mm_cvtepu8_epi32(_mm_cvtsi32_si128(b4)), behOff);
    const __m128i gtok = _mm_add_epi32(bucket, gapOff);
    const __m128i item = _mm_loadu_si128(reinterpret_cast<const __m128i*>(a.itemRow + e));
    const __m128i cat = _mm_loadu_si128(reinterpret_cast<const __m128i*>(a.catRow + e));
    const __m128i t0 = _mm_unpacklo_epi32(item, cat), t1 = _mm_unpacklo_epi32(beh, gtok);
    const __m128i t2 = _mm_unpackhi_epi32(item, cat), t3 = _mm_unpackhi_epi32(beh, gtok);
    __m128i* d = reinterpret_cast<__m128i*>(dst);
    _mm_storeu_si128(d, _mm_unpacklo_epi64(t0, t1));
    _mm_storeu_si128(d + 1, _mm_unpackhi_epi64(t0, t1));
    _mm_storeu_si128(d + 2, _mm_unpacklo_epi64(t2, t3));
    _mm_storeu_si128(d + 3, _mm_unpackhi_epi64(t2, t3));
  }
#endif
  for (; e < end; e++, dst += 4) {
    dst[0] = a.itemRow[e];
    dst[1] = a.catRow[e];
    dst[2] = static_cast<int32_t>(a.behOff + a.behavior[e]);
    dst[3] = static_cast<int32_t>(a.gapOff) + GapBucket(t - a.time[e], a.G);
  }
  const int64_t pad = a.L - (end - start);
  std::memset(dst, 0, static_cast<size_t>(pad) * 4 * sizeof(int32_t));
}

// First index in [first, first + len) whose time is >= x. Branch-free: a sample's user history is
// short, and a mispredicted branch per halving costs more than the loads.
inline const int32_t* LowerBound(const int32_t* first, size_t len, int64_t x) {
  while (len > 1) {
    const size_t half = len / 2;
    first = first[half - 1] < x ? first + half : first;
    len -= half;
  }
  return first + (len == 1 && *first < x);
}

void PackRange(const PackArgs& a, size_t from, size_t to) {
  const size_t width = static_cast<size_t>(a.L) * 4;
  int32_t prevUser = -1, prevEnd = 0;
  int64_t prevThreshold = 0;
  for (size_t i = from; i < to; i++) {
    const int32_t u = a.sampleUser[i];
    const int32_t lo = a.userStart[u], hi = a.userStart[u + 1];
    const int64_t t = a.sampleTime[i];
    // floor(te / res) < floor(t / res)  <=>  te < floor(t / res) * res
    const int64_t threshold = FloorDiv(t, a.res) * a.res;
    int32_t end;
    if (u == prevUser && threshold >= prevThreshold) {
      // Samples usually come per user in time order: gallop forward from the previous sample's end
      // (a few events away) instead of bisecting a history that can hold thousands of events.
      int32_t base = prevEnd;
      size_t step = 1;
      while (static_cast<size_t>(hi - base) > step && a.time[base + step - 1] < threshold) {
        base += static_cast<int32_t>(step);
        step <<= 1;
      }
      end = static_cast<int32_t>(LowerBound(a.time + base, std::min<size_t>(step, hi - base), threshold) - a.time);
    } else {
      end = static_cast<int32_t>(LowerBound(a.time + lo, static_cast<size_t>(hi - lo), threshold) - a.time);
    }
    prevUser = u;
    prevEnd = end;
    prevThreshold = threshold;
    const int32_t start = static_cast<int32_t>(std::max<int64_t>(lo, static_cast<int64_t>(end) - a.L));
    a.outLen[i] = end - start;
    PackOne(a, t, start, end, a.outSeq + i * width);
  }
}

// packSequences(time, itemRow, catRow, behavior, userStart, sampleUser, sampleTime,
//               seqLen, resolution, behaviorOffset, gapOffset, gapBuckets, outSeq, outLen)
Napi::Value PackSequences(const Napi::CallbackInfo& info) {
  Args args(info, "packSequences");
  Napi::Env env = info.Env();
  int32_t *time = nullptr, *itemRow = nullptr, *catRow = nullptr, *userStart = nullptr, *sampleUser = nullptr, *sampleTime = nullptr,
          *outSeq = nullptr, *outLen = nullptr;
  uint8_t* behavior = nullptr;
  size_t nTime = 0, nItem = 0, nCat = 0, nBeh = 0, nStart = 0, nSU = 0, nST = 0, nOutSeq = 0, nOutLen = 0;
  int64_t L = 0, res = 1, behOff = 0, gapOff = 0, G = 1;
  if (!args.Typed(0, "time", &time, &nTime) ||
      !args.Typed(1, "itemRow", &itemRow, &nItem) ||
      !args.Typed(2, "catRow", &catRow, &nCat) ||
      !args.Typed(3, "behavior", &behavior, &nBeh) ||
      !args.Typed(4, "userStart", &userStart, &nStart) ||
      !args.Typed(5, "sampleUser", &sampleUser, &nSU) ||
      !args.Typed(6, "sampleTime", &sampleTime, &nST) ||
      !args.Int(7, "seqLen", 0, 1 << 20, &L) ||
      !args.Int(8, "resolution", 1, INT32_MAX, &res) ||
      !args.Int(9, "behaviorOffset", 0, INT32_MAX - 255, &behOff) ||
      !args.Int(10, "gapOffset", 0, INT32_MAX - 64, &gapOff) ||
      !args.Int(11, "gapBuckets", 1, 64, &G) ||
      !args.Typed(12, "outSeq", &outSeq, &nOutSeq) ||
      !args.Typed(13, "outLen", &outLen, &nOutLen))
    return env.Undefined();
  const size_t nEvents = nTime;
  if (nItem != nEvents || nCat != nEvents || nBeh != nEvents) {
    {
      args.RangeError("time, itemRow, catRow and behavior must have one entry per event");
      return args.Fail();
    }
  }
  if (nStart < 1) {
    {
      args.RangeError("userStart must have U + 1 entries");
      return args.Fail();
    }
  }
  const size_t nUsers = nStart - 1;
  const size_t N = nSU;
  if (nST != N) {
    {
      args.RangeError("sampleUser and sampleTime must have the same length");
      return args.Fail();
    }
  }
  const size_t width = static_cast<size_t>(L) * 4;
  if (nOutSeq < N * width || nOutLen < N) {
    {
      args.RangeError("output arrays are too short for N samples of seqLen events");
      return args.Fail();
    }
  }

  // Validate every sample's user range first, so the kernel below runs without checks.
  for (size_t i = 0; i < N; i++) {
    const int32_t u = sampleUser[i];
    if (u < 0 || static_cast<size_t>(u) >= nUsers) {
      {
      args.RangeError("sampleUser[" + std::to_string(i) + "] = " + std::to_string(u) + " is not a user index");
      return args.Fail();
    }
    }
    const int32_t lo = userStart[u], hi = userStart[u + 1];
    if (lo < 0 || hi < lo || static_cast<size_t>(hi) > nEvents) {
      {
      args.RangeError("userStart of user " + std::to_string(u) + " is not a range of the events");
      return args.Fail();
    }
    }
  }
  const PackArgs a{time, itemRow, catRow, userStart, sampleUser, sampleTime, behavior, L, res, behOff, gapOff, G, outSeq, outLen};
  PackRange(a, 0, N);
  return env.Undefined();
}

}  // namespace

void RegisterGather(Napi::Env env, Napi::Object exports);  // native/features/gather.cc

void InitPacking(Napi::Env env, Napi::Object exports) {
  exports.Set("packSequences", Napi::Function::New(env, PackSequences, "packSequences"));
  RegisterGather(env, exports);
}
}  // namespace cmdcm
