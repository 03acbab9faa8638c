// The CPU shim: what CUDA C needs to compile as C++ for the host, so that the kernels of
// native/cuda/kernels/*.cu run on the CPU exactly as written. A launch is a sequential loop over
// the grid's blocks and each block's threads (one thread at a time), with blockIdx/threadIdx/
// blockDim/gridDim set as CUDA would; which is why the kernels need no shared memory or
// __syncthreads, and why atomicAdd may be a plain add here.
#pragma once
#include <math.h>

#include <cstdint>

namespace cmdcm {
namespace cuda {
namespace shim {

struct Dim3 {
  unsigned x = 1, y = 1, z = 1;
};
inline thread_local Dim3 threadIdx, blockIdx, blockDim, gridDim;

#define __global__
#define __device__
#define __forceinline__ inline
#define CM_DEV static inline
#define CM_KERNEL static void
inline float cm_nan() { return NAN; }
inline float cm_inf() { return INFINITY; }
inline void cm_atomic_add(float* p, float v) { *p += v; }  // the shim runs one thread at a time

}  // namespace shim
}  // namespace cuda
}  // namespace cmdcm
