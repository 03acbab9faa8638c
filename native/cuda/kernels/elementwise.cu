// Element-wise kernels: binary with broadcasting (collapsed dims and per-operand strides, as the
// native engine's broadcastPlan gives them), unary, select, cast, fill. Op codes match
// native/engine/elementwise.cc and src/engine/native/kernels/{binary,unary}.ts.
#include "common.cuh"

CM_DEV float cm_bin(int op, float a, float b) {
  switch (op) {
    case 0: return a + b;
    case 1: return a - b;
    case 2: return a * b;
    case 3: return a / b;
    case 4: return a != a ? a : (b != b ? b : (a > b ? a : b));
    case 5: return a != a ? a : (b != b ? b : (a < b ? a : b));
    case 6: return (a - b) * (a - b);
    case 7: return powf(a, b);
    case 10: return a > b ? 1.f : 0.f;
    case 11: return a >= b ? 1.f : 0.f;
    case 12: return a < b ? 1.f : 0.f;
    case 13: return a <= b ? 1.f : 0.f;
    case 14: return a == b ? 1.f : 0.f;
    case 15: return a != b ? 1.f : 0.f;
  }
  return 0.f;
}

// ptr: a, b, out (float, or int32 0/1 for comparisons: op >= 10). Ops 20-22 are LogicalAnd, LogicalOr
// and LogicalNot (of a; b is ignored) on bools (int32 0/1). i[0] op, i[1] rank (<= 8),
// i[2..9] dims, i[10..17] a's strides, i[18..25] b's strides (0 where broadcast). n = output size.
CM_KERNEL cm_binary(KParams p) {
  const float* a = CM_F(0);
  const float* b = CM_F(1);
  const int op = p.i[0], rank = p.i[1];
  CM_FOR(idx, p.n) {
    long long rem = idx, ia = 0, ib = 0;
    for (int d = rank - 1; d >= 0; d--) {
      const long long dim = p.i[2 + d];
      const long long c = rem % dim;
      rem /= dim;
      ia += c * p.i[10 + d];
      ib += c * p.i[18 + d];
    }
    if (op >= 20) {
      const int x = CM_I(0)[ia], y = CM_I(1)[ib];
      CM_I(2)[idx] = op == 20 ? (x && y) : op == 21 ? (x || y) : !x;
      continue;
    }
    const float r = cm_bin(op, a[ia], b[ib]);
    if (op >= 10) CM_I(2)[idx] = (int)r;
    else CM_F(2)[idx] = r;
  }
}

CM_DEV float cm_softplus(float xf) {
  // tfjs's thresholds: exp(x) below, x above, log(1 + e^x) between
  const double x = xf;
  const double threshold = -15.942385152878742 + 2.0;  // log(2^-23) + 2
  const double e = exp(x);
  if (x < threshold) return (float)e;
  if (x > -threshold) return xf;
  return (float)log(1.0 + e);
}

CM_DEV float cm_un(int op, float x, float alpha, float beta) {
  switch (op) {
    case 0: return x > 0.f ? x : (x != x ? x : 0.f);
    case 1: return 1.f / (1.f + expf(-x));
    case 2: return expf(x);
    case 3: return (float)log((double)x);
    case 4: return (float)log1p((double)x);
    case 5: return cm_softplus(x);
    case 6: return -x;
    case 7: return x * x;
    case 8: return sqrtf(x);
    case 9: return (float)(1.0 / sqrt((double)x));
    case 10: return fabsf(x);
    case 11: return (float)tanh((double)x);
    case 12: return x != x ? x : (x > 0.f ? 1.f : alpha);
    case 13: return 1.f / x;
    case 14: return x >= 0.f ? x : (float)(exp((double)x) - 1.0);
    case 15: return x > beta ? beta : (x < alpha ? alpha : x);
    case 16: return x < 0.f ? alpha * x : x;
    case 17: return x != x ? x : (x < 0.f ? 0.f : (x > 6.f ? 6.f : x));
    case 18: return (float)expm1((double)x);
  }
  return 0.f;
}

// ptr: x, out. i[0] op; f[0] alpha, f[1] beta.
CM_KERNEL cm_unary(KParams p) {
  const float* x = CM_F(0);
  float* o = CM_F(1);
  const int op = p.i[0];
  const float alpha = p.f[0], beta = p.f[1];
  CM_FOR(idx, p.n) o[idx] = cm_un(op, x[idx], alpha, beta);
}

// ptr: cond (int32 0/1), t, e, out. i[0] inner: the condition covers `inner` values each.
CM_KERNEL cm_select(KParams p) {
  const int* c = CM_I(0);
  const long long inner = p.i[0];
  CM_FOR(idx, p.n) CM_F(3)[idx] = c[idx / inner] ? CM_F(1)[idx] : CM_F(2)[idx];
}

// ptr: x, out. i[0] from, i[1] to: 0 float32, 1 int32, 2 bool (stored as int32 0/1). As tfjs's CPU
// Cast: float -> int32 truncates toward zero (NaN -> 0), anything -> bool is `!= 0` (NaN -> true).
CM_KERNEL cm_cast(KParams p) {
  const int from = p.i[0], to = p.i[1];
  CM_FOR(idx, p.n) {
    if (from == 0) {
      const float v = CM_F(0)[idx];
      if (to == 1) CM_I(1)[idx] = v != v ? 0 : (v >= 2147483648.f || v <= -2147483649.f ? (int)0x80000000 : (int)v);
      else if (to == 2) CM_I(1)[idx] = v != 0.f ? 1 : 0;
      else CM_F(1)[idx] = v;
    } else {
      const int v = CM_I(0)[idx];
      if (to == 0) CM_F(1)[idx] = (float)v;
      else if (to == 2) CM_I(1)[idx] = v != 0 ? 1 : 0;
      else CM_I(1)[idx] = v;
    }
  }
}

// ptr: out. Every word set to the bits i[0] (a float's or an int's).
CM_KERNEL cm_fill(KParams p) {
  const int bits = p.i[0];
  CM_FOR(idx, p.n) CM_I(0)[idx] = bits;
}

// ptr: c (in place), bias. The epilogue of a GEMM (_FusedMatMul): bias then activation.
// i[0] M, i[1] N, i[2] bias kind (0 none, 1 scalar, 2 row [N], 3 column [M], 4 [M, N], 5 [batch, M, N]),
// i[3] activation (0 linear, 1 relu, 2 sigmoid, 3 elu, 4 leakyrelu, 5 relu6); f[0] leakyrelu's alpha.
CM_KERNEL cm_bias_act(KParams p) {
  float* c = CM_F(0);
  const float* bias = CM_F(1);
  const long long M = p.i[0], N = p.i[1];
  const int kind = p.i[2], act = p.i[3];
  const float alpha = p.f[0];
  CM_FOR(idx, p.n) {
    float v = c[idx];
    const long long col = idx % N, row = (idx / N) % M;
    if (kind == 1) v += bias[0];
    else if (kind == 2) v += bias[col];
    else if (kind == 3) v += bias[row];
    else if (kind == 4) v += bias[row * N + col];
    else if (kind == 5) v += bias[idx];
    if (act == 1) v = v > 0.f ? v : (v != v ? v : 0.f);
    else if (act == 2) v = 1.f / (1.f + expf(-v));
    else if (act == 3) v = v >= 0.f ? v : (float)(exp((double)v) - 1.0);
    else if (act == 4) v = v < 0.f ? alpha * v : v;
    else if (act == 5) v = v != v ? v : (v < 0.f ? 0.f : (v > 6.f ? 6.f : v));
    c[idx] = v;
  }
}
