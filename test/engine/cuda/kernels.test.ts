/**
 * Every cuda kernel, compiled for the CPU through native/cuda/shim.h and run by the 'cuda' backend
 * on the shim device, equals tfjs's cpu backend on the native kernel tests' shapes and tolerances:
 * those test files run here again with CMDCM_TEST_ENGINE=cuda (their checkBoth asserts that the
 * cuda backend's own kernels ran and none fell back). bench/device-check.sh runs this file with
 * CMDCM_CUDA_DEVICE=gpu on a GPU.
 */
process.env.CMDCM_TEST_ENGINE = 'cuda';
process.env.CMDCM_CUDA_DEVICE ??= 'shim';
process.env.CMDCM_LOG_LEVEL = 'silent';

await import('../elementwise.test.js');
await import('../matmul.test.js');
await import('../reduce.test.js');
await import('../layout.test.js');
await import('../gather.test.js');
await import('./extra.js');
