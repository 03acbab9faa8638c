import type { KernelConfig } from '@tensorflow/tfjs-core';
import { addNConfig } from './AddN.js';
import { argMaxConfig, argMinConfig } from './ArgMax.js';
import { batchMatMulConfig, fusedMatMulConfig } from './BatchMatMul.js';
import { binaryConfigs } from './binary.js';
import { castConfig } from './Cast.js';
import { concatConfig, packConfig } from './Concat.js';
import { fillConfigs } from './fill.js';
import { gatherV2Config } from './GatherV2.js';
import { padV2Config } from './PadV2.js';
import { reduceConfigs } from './reduce.js';
import { selectConfig } from './Select.js';
import { shapeConfigs } from './shape.js';
import { sliceConfig } from './Slice.js';
import { softmaxConfig } from './Softmax.js';
import { splitVConfig, unpackConfig } from './SplitV.js';
import { tileConfig } from './Tile.js';
import { transposeConfig } from './Transpose.js';
import { unaryConfigs } from './unary.js';
import { unsortedSegmentSumConfig } from './UnsortedSegmentSum.js';

/**
 * The cuda backend's own kernels: the set the native engine replaces, plus what keeps a model's
 * forward and backward on the device (Cast, the shape-only kernels, Fill/ZerosLike/OnesLike,
 * Pack/Unpack, ArgMax/ArgMin). Every other tfjs kernel falls back through the host (traced).
 */
export const CUDA_KERNELS: KernelConfig[] = [
  batchMatMulConfig, fusedMatMulConfig, ...binaryConfigs, ...unaryConfigs, addNConfig, ...reduceConfigs, argMaxConfig, argMinConfig,
  softmaxConfig, selectConfig, gatherV2Config, unsortedSegmentSumConfig, transposeConfig, sliceConfig, tileConfig, concatConfig,
  packConfig, splitVConfig, unpackConfig, padV2Config, castConfig, ...shapeConfigs, ...fillConfigs,
];
