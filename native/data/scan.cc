// Log row scanning (the fast path of src/data/readers/read.ts; the TypeScript row loop there is the
// reference and the fallback). It only accepts rows it can parse exactly as the TypeScript path
// does, and stops before any other line (bad rows, blank lines, long behavior codes, unusual
// times), which the caller then hands to the TypeScript path: so bad-row counting, reporting and
// every quirk stay in one place, and the output is the same with or without the addon.
#include <cmath>
#include <cstdint>
#include <cstring>

#include "addon.h"
#include "args.h"

namespace cmdcm {
namespace {

constexpr int kRoles = 6;
constexpr int kMaxCols = 64;
constexpr double kInt32Max = 2147483647.0;

// params layout (Int32Array), shared with read.ts (NATIVE_PARAMS there)
enum Param { P_NCOLS, P_BEHCOL, P_TIMEKIND, P_TIMECOL, P_OFFSET, P_IDCOLS, P_LEN = P_IDCOLS + kRoles };
enum TimeKind { T_DATETIME = 0, T_UNIX = 1, T_MMDD = 2 };

inline int64_t FloorDiv(int64_t a, int64_t b) {
  int64_t q = a / b;
  return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

// H. Hinnant's days_from_civil, as bytes.ts daysFromCivil.
inline int64_t DaysFromCivil(int64_t y, int64_t m, int64_t d) {
  y -= m <= 2 ? 1 : 0;
  const int64_t era = FloorDiv(y, 400);
  const int64_t yoe = y - era * 400;
  const int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

inline int DaysInMonth(int64_t y, int64_t m) {
  if (m == 2) return ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0) ? 29 : 28;
  return (m == 4 || m == 6 || m == 9 || m == 11) ? 30 : 31;
}

// n digits at p, or -1
inline int64_t Digits(const uint8_t* p, int n) {
  int64_t v = 0;
  for (int i = 0; i < n; i++) {
    const int c = p[i] - '0';
    if (c < 0 || c > 9) return -1;
    v = v * 10 + c;
  }
  return v;
}

// bytes.ts parseDateTime; false where it would give NaN
inline bool ParseDateTime(const uint8_t* b, int64_t s, int64_t e, double* out) {
  const int64_t len = e - s;
  if (len < 10) return false;
  const uint8_t sep = b[s + 4];
  if ((sep != '-' && sep != '/') || b[s + 7] != sep) return false;
  const int64_t y = Digits(b + s, 4), mo = Digits(b + s + 5, 2), d = Digits(b + s + 8, 2);
  if (y < 0 || mo < 1 || mo > 12 || d < 1 || d > DaysInMonth(y, mo)) return false;
  const double day = static_cast<double>(DaysFromCivil(y, mo, d) * 86400);
  if (len == 10) { *out = day; return true; }
  const uint8_t t = b[s + 10];
  if ((t != ' ' && t != 'T') || len < 13) return false;
  int64_t h = Digits(b + s + 11, 2), mi = 0, sec = 0;
  if (len > 13) {
    if (b[s + 13] != ':' || len < 16) return false;
    mi = Digits(b + s + 14, 2);
    if (len > 16) {
      if (b[s + 16] != ':' || len != 19) return false;
      sec = Digits(b + s + 17, 2);
    }
  }
  if (h < 0 || mi < 0 || sec < 0 || h > 23 || mi > 59 || sec > 59) return false;
  *out = day + static_cast<double>(h * 3600 + mi * 60 + sec);
  return true;
}

// bytes.ts parseUint
inline bool ParseUint(const uint8_t* b, int64_t s, int64_t e, double* out) {
  if (e <= s || e - s > 15) return false;
  int64_t n = 0;
  for (int64_t i = s; i < e; i++) {
    const int c = b[i] - '0';
    if (c < 0 || c > 9) return false;
    n = n * 10 + c;
  }
  *out = static_cast<double>(n);
  return true;
}

// bytes.ts parseUintLoose
inline bool ParseUintLoose(const uint8_t* b, int64_t s, int64_t e, double* out) {
  int64_t dot = -1;
  for (int64_t i = s; i < e; i++) if (b[i] == '.') { dot = i; break; }
  if (dot < 0) return ParseUint(b, s, e, out);
  for (int64_t i = dot + 1; i < e; i++) if (b[i] != '0') return false;
  return ParseUint(b, s, dot, out);
}

// intern.ts numericId: the value of a normalizable integer id, or -1
inline double NumericId(const uint8_t* b, int64_t s, int64_t e) {
  const int64_t len = e - s;
  if (len == 0 || (b[s] == '0' && len > 1 && b[s + 1] != '.')) return -1;
  int64_t n = 0, i = s;
  for (; i < e; i++) {
    const int c = b[i] - '0';
    if (c < 0 || c > 9) break;
    if (i - s < 16) n = n * 10 + c;  // longer runs are rejected below; no overflow
  }
  if (i == e) return len <= 15 ? static_cast<double>(n) : -1;
  if (b[i] != '.' || i == s || i + 1 == e || i - s > 15) return -1;
  for (int64_t j = i + 1; j < e; j++) if (b[j] != '0') return -1;
  return static_cast<double>(n);
}

// scanLogRows(buf, from, to, params, single, behKeys, behVals, mmdd, outKey, outOff, outBeh, outTime, state)
//   Scans whole lines of buf[from, to) (the last one ends in '\n') while they are good rows, up to
//   outBeh.length rows. Per row k: outKey[3k + r] = numericId of user/item/category (-1 if not
//   numeric), outOff[12k + 2r, +1] = [start, end) of role r (-1, -1 when the format lacks it),
//   outBeh[k], outTime[k]. state = [position after the last accepted line, lines, rows].
Napi::Value ScanLogRows(const Napi::CallbackInfo& info) {
  Args args(info, "scanLogRows");
  Napi::Env env = info.Env();
  uint8_t *buf, *beh;
  int8_t* single;
  int32_t *params, *off, *time, *state;
  double *behKeys, *mmdd, *keys;
  size_t nBuf, nParams, nSingle, nBehKeys, nBehVals, nMmdd, nKeys, nOff, nBeh, nTime, nState;
  int64_t from, to;
  if (!args.Typed(0, "buf", &buf, &nBuf)) return env.Undefined();
  if (!args.Int(1, "from", 0, static_cast<int64_t>(nBuf), &from)) return env.Undefined();
  if (!args.Int(2, "to", from, static_cast<int64_t>(nBuf), &to)) return env.Undefined();
  if (!args.Typed(3, "params", &params, &nParams)) return env.Undefined();
  if (!args.Typed(4, "single", &single, &nSingle)) return env.Undefined();
  int32_t* behValsI;
  if (!args.Typed(5, "behKeys", &behKeys, &nBehKeys)) return env.Undefined();
  if (!args.Typed(6, "behVals", &behValsI, &nBehVals)) return env.Undefined();
  if (!args.Typed(7, "mmdd", &mmdd, &nMmdd)) return env.Undefined();
  if (!args.Typed(8, "outKey", &keys, &nKeys)) return env.Undefined();
  if (!args.Typed(9, "outOff", &off, &nOff)) return env.Undefined();
  if (!args.Typed(10, "outBeh", &beh, &nBeh)) return env.Undefined();
  if (!args.Typed(11, "outTime", &time, &nTime)) return env.Undefined();
  if (!args.Typed(12, "state", &state, &nState)) return env.Undefined();
  const size_t cap = nBeh;
  if (nParams < P_LEN || nSingle < 256 || nBehVals < nBehKeys || nKeys < 3 * cap || nOff < 12 * cap || nTime < cap ||
      nState < 3 || (to > from && buf[to - 1] != '\n')) {
    args.RangeError("inconsistent argument sizes");
    return args.Fail();
  }
  const int nCols = params[P_NCOLS], behCol = params[P_BEHCOL], kind = params[P_TIMEKIND], timeCol = params[P_TIMECOL];
  const double offsetSec = params[P_OFFSET];
  const int32_t* idCols = params + P_IDCOLS;
  if (nCols < 1 || nCols > kMaxCols || behCol < 0 || behCol >= nCols || timeCol < 0 || timeCol >= nCols ||
      kind < T_DATETIME || kind > T_MMDD || (kind == T_MMDD && nMmdd < 1232)) {
    args.RangeError("bad params");
    return args.Fail();
  }
  for (int r = 0; r < kRoles; r++) {
    if (idCols[r] >= nCols || (r < 3 && idCols[r] < 0)) {
      args.RangeError("bad id columns");
      return args.Fail();
    }
  }

  int64_t st[kMaxCols], en[kMaxCols];
  int64_t i = from;
  size_t rows = 0;
  int32_t lines = 0;
  while (i < to && rows < cap) {
    // split one line (it ends in '\n' before `to`)
    const int64_t lineStart = i;
    int nf = 0;
    st[0] = i;
    const uint8_t* nl = static_cast<const uint8_t*>(std::memchr(buf + i, '\n', static_cast<size_t>(to - i)));
    const int64_t lineEnd = nl - buf;
    bool ok = true;
    for (int64_t j = i; j < lineEnd; j++) {
      if (buf[j] == ',') {
        if (nf + 1 >= nCols) { ok = false; break; }
        en[nf] = j;
        st[++nf] = j + 1;
      }
    }
    if (!ok) break;
    int64_t e = lineEnd;
    if (e > lineStart && buf[e - 1] == '\r') e--;
    en[nf] = e;
    nf++;
    if (nf != nCols) break;  // also a blank line (nCols > 1), or a wrong column count

    // behavior: spec.ts BehaviorMap.lookup, short codes only
    const int64_t bs = st[behCol], be = en[behCol];
    int b = -1;
    if (be - bs == 1) {
      b = single[buf[bs]];
    } else if (be > bs && be - bs <= 6) {
      uint64_t k = 0;
      for (int64_t j = bs; j < be; j++) k = k * 256 + buf[j];
      k += static_cast<uint64_t>(be - bs) << 48;
      const double dk = static_cast<double>(k);
      for (size_t q = 0; q < nBehKeys; q++) if (behKeys[q] == dk) { b = behValsI[q]; break; }
    }
    if (b < 0) break;

    double t;
    const int64_t ts = st[timeCol], te = en[timeCol];
    if (kind == T_DATETIME) {
      if (!ParseDateTime(buf, ts, te, &t)) break;
    } else if (kind == T_UNIX) {
      if (!ParseUintLoose(buf, ts, te, &t)) break;
      t += offsetSec;
    } else {
      if (te - ts < 3 || te - ts > 4 || !ParseUint(buf, ts, te, &t) || t >= 1232) break;
      t = mmdd[static_cast<int>(t)];
    }
    if (!(t >= -kInt32Max && t <= kInt32Max)) break;

    int32_t* o = off + 12 * rows;
    for (int r = 0; r < kRoles; r++) {
      const int c = idCols[r];
      if (c < 0) { o[2 * r] = o[2 * r + 1] = -1; continue; }
      o[2 * r] = static_cast<int32_t>(st[c]);
      o[2 * r + 1] = static_cast<int32_t>(en[c]);
    }
    if (o[0] == o[1] || o[2] == o[3] || o[4] == o[5]) break;  // an empty id: a bad row
    double* kk = keys + 3 * rows;
    for (int r = 0; r < 3; r++) kk[r] = NumericId(buf, o[2 * r], o[2 * r + 1]);
    beh[rows] = static_cast<uint8_t>(b);
    time[rows] = static_cast<int32_t>(t);
    rows++;
    lines++;
    i = lineEnd + 1;
  }
  state[0] = static_cast<int32_t>(i);
  state[1] = lines;
  state[2] = static_cast<int32_t>(rows);
  return env.Undefined();
}

}  // namespace

void InitIntern(Napi::Env env, Napi::Object exports);  // native/data/intern.cc

void InitData(Napi::Env env, Napi::Object exports) {
  exports.Set("scanLogRows", Napi::Function::New(env, ScanLogRows, "scanLogRows"));
  InitIntern(env, exports);
}

}  // namespace cmdcm
