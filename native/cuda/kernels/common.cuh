// Shared by every kernel file. Compiled two ways: by NVRTC on a GPU (__CUDACC__ is defined there),
// and for the CPU by native/cuda/shim.h, which defines __global__, blockIdx/threadIdx/blockDim/
// gridDim and the helpers below before including the kernel files. Kernels therefore use no shared
// memory and no __syncthreads: every kernel is a grid-stride loop over independent outputs (one
// thread per output row for reductions), and CM_ATOMIC_ADD is a plain add on the shim, which runs
// the grid sequentially.
#pragma once

// Every kernel takes one parameter block by value, so the GPU launch (cuLaunchKernel with one
// argument) and the shim's launcher need no per-kernel signature. The host declares the same struct
// (native/cuda/device.h) with the same fixed-size fields.
struct KParams {
  unsigned long long ptr[8];  // device addresses
  long long n;                // the main element count
  int i[32];                  // integer parameters (op codes, shapes, strides)
  float f[4];                 // float parameters
};

#ifdef __CUDACC__
#define CM_DEV __device__ __forceinline__
#define CM_KERNEL extern "C" __global__ void
CM_DEV float cm_nan() { return __int_as_float(0x7fc00000); }
CM_DEV float cm_inf() { return __int_as_float(0x7f800000); }
CM_DEV void cm_atomic_add(float* p, float v) { atomicAdd(p, v); }
#endif

#define CM_F(k) ((float*)p.ptr[k])
#define CM_I(k) ((int*)p.ptr[k])
#define CM_FOR(idx, count) \
  for (long long idx = (long long)blockIdx.x * blockDim.x + threadIdx.x; idx < (count); idx += (long long)blockDim.x * gridDim.x)
