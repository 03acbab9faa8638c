// Layout kernels on 4-byte words (float32, int32 and bool tensors alike), rank <= 8: one thread per
// output value, which computes its source index from the output's coordinates.
#include "common.cuh"

// ptr: x, out. i[0] rank, i[1..8] out shape, i[9..16] the source stride of each out dim,
// i[17] a source offset. Transpose (permuted strides), slice (offset = begin · strides), and
// broadcasts (stride 0) are all this one gather.
CM_KERNEL cm_strided(KParams p) {
  const int* x = CM_I(0);
  int* o = CM_I(1);
  const int rank = p.i[0];
  CM_FOR(idx, p.n) {
    long long rem = idx, src = p.i[17];
    for (int d = rank - 1; d >= 0; d--) {
      const long long dim = p.i[1 + d];
      src += (rem % dim) * p.i[9 + d];
      rem /= dim;
    }
    o[idx] = x[src];
  }
}

// ptr: x, out. Tile: i[0] rank, i[1..8] out shape, i[9..16] x's shape.
CM_KERNEL cm_tile(KParams p) {
  const int* x = CM_I(0);
  int* o = CM_I(1);
  const int rank = p.i[0];
  CM_FOR(idx, p.n) {
    long long rem = idx, src = 0, stride = 1;
    for (int d = rank - 1; d >= 0; d--) {
      const long long dim = p.i[1 + d], xd = p.i[9 + d];
      src += ((rem % dim) % xd) * stride;
      stride *= xd;
      rem /= dim;
    }
    o[idx] = x[src];
  }
}

// ptr: x, out. Pad: i[0] rank, i[1..8] out shape, i[9..16] x's shape, i[17..24] padding before
// each dim, i[25] the fill value's bits.
CM_KERNEL cm_pad(KParams p) {
  const int* x = CM_I(0);
  int* o = CM_I(1);
  const int rank = p.i[0];
  CM_FOR(idx, p.n) {
    long long rem = idx, src = 0, stride = 1;
    bool inside = true;
    for (int d = rank - 1; d >= 0; d--) {
      const long long dim = p.i[1 + d], xd = p.i[9 + d];
      const long long c = rem % dim - p.i[17 + d];
      rem /= dim;
      if (c < 0 || c >= xd) inside = false;
      src += c * stride;
      stride *= xd;
    }
    o[idx] = inside ? x[src] : p.i[25];
  }
}

// ptr: src, dst. A block of rows × cols words from src (row stride i[2], offset i[4]) into dst
// (row stride i[3], offset i[5]): concat, split, pack and unpack are one launch per piece.
CM_KERNEL cm_copy2d(KParams p) {
  const int* s = CM_I(0);
  int* d = CM_I(1);
  const long long cols = p.i[1];
  CM_FOR(idx, p.n) {
    const long long r = idx / cols, c = idx % cols;
    d[p.i[5] + r * p.i[3] + c] = s[p.i[4] + r * p.i[2] + c];
  }
}
