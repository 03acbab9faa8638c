/**
 * Full-model gradients of every model (src/model: CM-DCM, the baselines, the ablations) on the
 * 'cuda' backend within 1e-4 of cpu, and CM-DCM's 50-step loss curve along cpu's, with no kernel
 * falling back: test/engine/model-grad.test.ts and loss-curve.test.ts run again with
 * CMDCM_TEST_ENGINE=cuda (the CPU shim in CI; the GPU under bench/device-check.sh).
 */
process.env.CMDCM_TEST_ENGINE = 'cuda';
process.env.CMDCM_CUDA_DEVICE ??= 'shim';
process.env.CMDCM_LOG_LEVEL = 'silent';

await import('../model-grad.test.js');
await import('../loss-curve.test.js');
