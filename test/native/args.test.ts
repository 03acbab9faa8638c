/**
 * Every addon entry point checks its arguments (native/args.h): a bad call from JavaScript throws a
 * TypeError (wrong kind of value) or RangeError (wrong size or value) naming the argument, instead
 * of reading or writing out of bounds or crashing the process. A new entry point must add its bad
 * calls here (the last test fails on an export without one).
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { loadAddon, type AddonFunctions } from '../../src/native.js';

const addon = loadAddon() as AddonFunctions | undefined;
const skip = addon ? false : 'native addon not built';

const f32 = (n: number) => new Float32Array(n);
const i32 = (n: number) => new Int32Array(n);
const u8 = (n: number) => new Uint8Array(n);
const H = [0.01, 0.9, 0.999, 1e-8, 1] as const;

// the cuda engine's entry points take a device: a CPU shim device (native/cuda/shim_device.cc), and buffers of it
let shimDevice = 0;
const dev = (a: AddonFunctions) => (shimDevice ||= a.cudaOpen('shim', 0));
const buf = (a: AddonFunctions, bytes: number) => a.cudaAlloc(dev(a), bytes);
const launchArgs = () => [new Float64Array(8), 1, i32(32), f32(4)] as const;

type Bad = [what: string, call: (a: AddonFunctions) => unknown, error: typeof TypeError | typeof RangeError, message?: RegExp];

/** Per export, calls that must throw. `x as never` passes a value of the wrong type on purpose. */
const BAD: Record<keyof AddonFunctions, Bad[]> = {
  hashVocab: [
    ['bytes a Float64Array', (a) => a.hashVocab('f', 1, 10, new Float64Array(3) as never, i32(1), i32(1)), TypeError, /argument bytes must be a Uint8Array, got Float64Array/],
    ['offset a string', (a) => a.hashVocab('f', 'x' as never, 10, u8(3), i32(1), i32(1)), TypeError, /argument offset must be a number/],
    ['out shorter than units', (a) => a.hashVocab('f', 1, 10, u8(3), Int32Array.of(1, 1, 1), i32(1)), RangeError],
  ],
  hashBytes: [
    ['field a number', (a) => a.hashBytes(1 as never, 1, 10, u8(3), Int32Array.of(0, 3), i32(1)), TypeError, /argument field must be a string/],
    ['starts past the bytes', (a) => a.hashBytes('f', 1, 10, u8(3), Int32Array.of(0, 9), i32(1)), RangeError],
  ],
  packSequences: [
    ['seqLen a string', (a) => a.packSequences(i32(1), i32(1), i32(1), u8(1), Int32Array.of(0, 1), i32(1), i32(1), 'x' as never, 1, 1, 1, 16, i32(4), i32(1)), TypeError],
    ['outSeq too short', (a) => a.packSequences(i32(1), i32(1), i32(1), u8(1), Int32Array.of(0, 1), i32(1), i32(1), 4, 1, 1, 1, 16, i32(3), i32(1)), RangeError],
  ],
  gatherRows: [
    ['src and dst of different types', (a) => a.gatherRows(i32(4), 1, i32(1), f32(1) as never), TypeError],
    ['dst too short', (a) => a.gatherRows(i32(4), 2, Int32Array.of(0, 1), i32(3)), RangeError],
    ['idx past src', (a) => a.gatherRows(i32(4), 1, Int32Array.of(4), i32(1)), RangeError],
  ],
  scanLogRows: [
    // the old checker named every non-Int32Array type "Uint8Array"
    ['behKeys an Int32Array', (a) => a.scanLogRows(u8(4), 0, 4, i32(64), new Int8Array(256), i32(1) as never, i32(1), new Float64Array(1), new Float64Array(8), i32(8), u8(8), i32(8), i32(8)),
      TypeError, /argument behKeys must be a Float64Array, got Int32Array/],
    ['to past the buffer', (a) => a.scanLogRows(u8(4), 0, 9, i32(64), new Int8Array(256), new Float64Array(1), i32(1), new Float64Array(1), new Float64Array(8), i32(8), u8(8), i32(8), i32(8)), RangeError],
  ],
  internSmallRun: [
    ['keys a Float32Array', (a) => a.internSmallRun(i32(8), 3, f32(4) as never, 1, 0, 0, 1, i32(4), 0), TypeError, /argument keys must be a Float64Array, got Float32Array/],
    ['bits out of range', (a) => a.internSmallRun(i32(8), 40, new Float64Array(4), 1, 0, 0, 1, i32(4), 0), RangeError],
  ],
  matmul: [
    ['out too short', (a) => a.matmul(f32(6), f32(6), f32(3), 1, 2, 2, 3, false, false, 0, 0, null, 0, 0, 0), RangeError, /out holds 3 values/],
    ['a too short for its batch stride', (a) => a.matmul(f32(6), f32(6), f32(8), 2, 2, 2, 3, false, false, 6, 0, null, 0, 0, 0), RangeError],
    ['bias too short for its kind', (a) => a.matmul(f32(6), f32(6), f32(4), 1, 2, 2, 3, false, false, 0, 0, f32(1), 4, 0, 0), RangeError],
    ['M a string', (a) => a.matmul(f32(6), f32(6), f32(4), 1, 'x' as never, 2, 3, false, false, 0, 0, null, 0, 0, 0), TypeError],
  ],
  gemmInfo: [],
  setGemm: [
    ['unknown GEMM', (a) => a.setGemm('mkl' as never), RangeError],
    ['not a string', (a) => a.setGemm(1 as never), TypeError],
  ],
  binary: [
    ['out too short', (a) => a.binary(0, f32(4), f32(4), f32(3), Int32Array.of(4), Int32Array.of(1), Int32Array.of(1)), RangeError],
    ['a shorter than its strides reach', (a) => a.binary(0, f32(3), f32(4), f32(4), Int32Array.of(4), Int32Array.of(1), Int32Array.of(1)), RangeError],
    ['a comparison into a Float32Array', (a) => a.binary(10, f32(4), f32(4), f32(4), Int32Array.of(4), Int32Array.of(1), Int32Array.of(1)), TypeError],
    ['unknown op', (a) => a.binary(99, f32(4), f32(4), f32(4), Int32Array.of(4), Int32Array.of(1), Int32Array.of(1)), RangeError],
  ],
  unary: [
    ['out too short', (a) => a.unary(0, f32(4), f32(3), 0, 0), RangeError],
    ['x an Int32Array', (a) => a.unary(0, i32(4) as never, f32(4), 0, 0), TypeError, /argument x must be a Float32Array, got Int32Array/],
  ],
  select: [
    ['cond too short', (a) => a.select(u8(2), f32(4), f32(4), f32(4), 1), RangeError],
    ['t too short', (a) => a.select(u8(4), f32(3), f32(4), f32(4), 1), RangeError],
  ],
  reduce: [
    ['x too short', (a) => a.reduce(0, f32(5), f32(2), 2, 3, 1), RangeError],
    ['out too short', (a) => a.reduce(0, f32(6), f32(1), 2, 3, 1), RangeError],
  ],
  softmax: [['out too short', (a) => a.softmax(f32(6), f32(5), 2, 3), RangeError]],
  gather: [
    ['out too short', (a) => a.gather(f32(12), Int32Array.of(0, 1, 2), f32(5), 1, 4, 3), RangeError, /out holds 5 values/],
    ['x too short', (a) => a.gather(f32(11), Int32Array.of(0), f32(3), 1, 4, 3), RangeError],
    ['x and out of different types', (a) => a.gather(f32(12), Int32Array.of(0), i32(3), 1, 4, 3), TypeError],
    ['an index past the axis', (a) => a.gather(f32(12), Int32Array.of(4), f32(3), 1, 4, 3), RangeError],
  ],
  segmentSum: [
    ['out too short', (a) => a.segmentSum(f32(4), Int32Array.of(0, 1), f32(3), 2, 2), RangeError],
    ['x too short', (a) => a.segmentSum(f32(3), Int32Array.of(0, 1), f32(4), 2, 2), RangeError],
  ],
  transpose: [
    ['perm not a permutation', (a) => a.transpose(f32(6), f32(6), Int32Array.of(2, 3), Int32Array.of(0, 0)), RangeError],
    ['out too short', (a) => a.transpose(f32(6), f32(5), Int32Array.of(2, 3), Int32Array.of(1, 0)), RangeError],
    ['rank above 8', (a) => a.transpose(f32(1), f32(1), new Int32Array(9).fill(1), Int32Array.from({ length: 9 }, (_, i) => i)), RangeError],
  ],
  slice: [
    ['slice past x', (a) => a.slice(f32(6), f32(6), Int32Array.of(2, 3), Int32Array.of(1, 0), Int32Array.of(2, 3)), RangeError],
    ['out too short', (a) => a.slice(f32(6), f32(2), Int32Array.of(2, 3), Int32Array.of(0, 0), Int32Array.of(1, 3)), RangeError],
  ],
  pad: [
    ['x does not fit', (a) => a.pad(f32(6), f32(12), Int32Array.of(2, 3), Int32Array.of(1, 1), Int32Array.of(3, 3)), RangeError],
    ['out too short', (a) => a.pad(f32(6), f32(11), Int32Array.of(2, 3), Int32Array.of(1, 1), Int32Array.of(3, 4)), RangeError],
  ],
  tile: [['out too short', (a) => a.tile(f32(6), f32(11), Int32Array.of(2, 3), Int32Array.of(2, 1)), RangeError]],
  adamDense: [
    ['g too short', (a) => a.adamDense(f32(4), f32(3), f32(4), f32(4), ...H), RangeError],
    ['m a Float64Array', (a) => a.adamDense(f32(4), f32(4), new Float64Array(4) as never, f32(4), ...H), TypeError, /argument m must be a Float32Array, got Float64Array/],
    ['lr a string', (a) => a.adamDense(f32(4), f32(4), f32(4), f32(4), 'x' as never, 0.9, 0.999, 1e-8, 1), TypeError],
  ],
  lazyAdamRows: [
    ['dim a string', (a) => a.lazyAdamRows(f32(8), f32(8), f32(8), 'x' as never, Int32Array.of(1), f32(2), ...H), TypeError, /argument dim must be a number/],
    ['row past the table', (a) => a.lazyAdamRows(f32(8), f32(8), f32(8), 2, Int32Array.of(4), f32(2), ...H), RangeError],
    ['rowGrad too short', (a) => a.lazyAdamRows(f32(8), f32(8), f32(8), 2, Int32Array.of(1), f32(1), ...H), RangeError],
  ],
  adagradRows: [
    ['acc shorter than the rows', (a) => a.adagradRows(f32(8), f32(2), 2, Int32Array.of(3), f32(2), 0.1, 1e-8), RangeError],
    ['negative dim', (a) => a.adagradRows(f32(8), f32(8), -2, Int32Array.of(1), f32(2), 0.1, 1e-8), RangeError],
  ],
  embeddingGatherRows: [
    ["dim 'x'", (a) => a.embeddingGatherRows(f32(20), 'x' as never, [Int32Array.of(1)]), TypeError, /argument dim must be a number/],
    ['dim 0', (a) => a.embeddingGatherRows(f32(20), 0, [Int32Array.of(1)]), RangeError],
    ['table a Float64Array', (a) => a.embeddingGatherRows(new Float64Array(20) as never, 2, [Int32Array.of(1)]), TypeError],
    ['ids not an array', (a) => a.embeddingGatherRows(f32(20), 2, Int32Array.of(1) as never), TypeError],
    ['an ids entry a Float32Array', (a) => a.embeddingGatherRows(f32(20), 2, [f32(2) as never]), TypeError],
    ['a short localOut entry', (a) => a.embeddingGatherRows(f32(20), 2, [Int32Array.of(1, 2, 3)], undefined, false, [i32(2)]), RangeError, /localOut\[0\] must be an Int32Array of 3 elements/],
    ['too few localOut entries', (a) => a.embeddingGatherRows(f32(20), 2, [Int32Array.of(1), Int32Array.of(2)], undefined, false, [i32(1)]), TypeError],
    ['a row past the table', (a) => a.embeddingGatherRows(f32(20), 2, [Int32Array.of(10)]), RangeError],
  ],
  shmCreate: [
    ['name a number', (a) => a.shmCreate(1 as never, 64), TypeError],
    ['size 0', (a) => a.shmCreate('/cmdcm-args-test', 0), RangeError],
  ],
  shmOpen: [['name a number', (a) => a.shmOpen(1 as never), TypeError]],
  shmUnlink: [['name missing', (a) => (a.shmUnlink as () => boolean)(), TypeError]],
  futexWait: [
    ['byteOffset a string', (a) => a.futexWait(new ArrayBuffer(8), 'x' as never, 0, 0), TypeError],
    ['byteOffset past the buffer', (a) => a.futexWait(new ArrayBuffer(8), 8, 0, 0), RangeError],
    ['buffer a typed array', (a) => a.futexWait(i32(2) as never, 0, 0, 0), TypeError],
  ],
  futexWake: [['byteOffset unaligned', (a) => a.futexWake(new ArrayBuffer(8), 2, 1), RangeError]],
  reduceDenseAdam: [
    ['grads too short', (a) => a.reduceDenseAdam(f32(7), 4, 2, 0, 4, f32(4), f32(4), f32(4), ...H), RangeError],
    ['workers a string', (a) => a.reduceDenseAdam(f32(8), 4, 'x' as never, 0, 4, f32(4), f32(4), f32(4), ...H), TypeError],
  ],
  reduceOwnedRows: [
    ['unknown optimizer', (a) => a.reduceOwnedRows(1, 0, i32(1), i32(1), f32(2), 1, 2, f32(8), f32(8), f32(8), 'sgd' as never, ...H), TypeError],
    ['counts a Float32Array', (a) => a.reduceOwnedRows(1, 0, f32(1) as never, i32(1), f32(2), 1, 2, f32(8), f32(8), f32(8), 'lazyAdam', ...H), TypeError],
  ],
  cudaProbe: [],
  cudaOpen: [
    ['an unknown kind', (a) => a.cudaOpen('tpu' as never, 0), RangeError, /kind must be 'gpu' or 'shim'/],
    ['kind a number', (a) => a.cudaOpen(1 as never, 0), TypeError, /argument kind must be a string/],
    ['a negative ordinal', (a) => a.cudaOpen('shim', -1), RangeError, /argument ordinal/],
  ],
  cudaClose: [
    ['a device never opened', (a) => a.cudaClose(100000), RangeError, /device 100000 is not open/],
    ['device a string', (a) => a.cudaClose('x' as never), TypeError, /argument device must be a number/],
  ],
  cudaInfo: [['device 0', (a) => a.cudaInfo(0), RangeError]],
  cudaAlloc: [
    ['negative bytes', (a) => a.cudaAlloc(dev(a), -1), RangeError, /argument bytes/],
    ['device a string', (a) => a.cudaAlloc('x' as never, 4), TypeError],
  ],
  cudaFree: [['an address that is no allocation', (a) => a.cudaFree(dev(a), 12345), RangeError, /ptr is not a live allocation/]],
  cudaUpload: [
    ['more bytes than the buffer', (a) => a.cudaUpload(dev(a), buf(a, 16), 0, f32(5)), RangeError, /does not fit the allocation/],
    ['an offset past the end', (a) => a.cudaUpload(dev(a), buf(a, 16), 256, f32(1)), RangeError],
    ['a Float64Array', (a) => a.cudaUpload(dev(a), buf(a, 16), 0, new Float64Array(1) as never), TypeError, /Float32Array or Int32Array/],
  ],
  cudaDownload: [
    ['more bytes than the buffer', (a) => a.cudaDownload(dev(a), buf(a, 16), 4, i32(64)), RangeError],
    ['an unaligned offset', (a) => a.cudaDownload(dev(a), buf(a, 16), 2, i32(1)), RangeError],
  ],
  cudaCopy: [
    ['past the source', (a) => a.cudaCopy(dev(a), buf(a, 1024), 0, buf(a, 16), 0, 1024), RangeError],
    ['src not an allocation', (a) => a.cudaCopy(dev(a), buf(a, 16), 0, 7, 0, 4), RangeError, /src is not a live allocation/],
  ],
  cudaCompile: [
    ['source a number', (a) => a.cudaCompile(1 as never, 9, 0), TypeError, /argument source must be a string/],
    ['major 0', (a) => a.cudaCompile('', 0, 0), RangeError, /argument major/],
  ],
  cudaLoadModule: [
    ['an empty image', (a) => a.cudaLoadModule(dev(a), u8(0)), RangeError, /image is empty/],
    ['image a Float32Array', (a) => a.cudaLoadModule(dev(a), f32(4) as never), TypeError],
  ],
  cudaFunction: [['name a number', (a) => a.cudaFunction(dev(a), 3 as never), TypeError, /argument name must be a string/]],
  cudaLaunch: [
    ['a function id never given', (a) => a.cudaLaunch(dev(a), 100000, 1, 1, ...launchArgs()), RangeError, /argument fn/],
    ['ptrs of 7', (a) => a.cudaLaunch(dev(a), a.cudaFunction(dev(a), 'cm_fill'), 1, 1, new Float64Array(7), 1, i32(32), f32(4)), RangeError, /8, 32 and 4/],
    ['a pointer that is no allocation', (a) => a.cudaLaunch(dev(a), a.cudaFunction(dev(a), 'cm_fill'), 1, 1, Float64Array.of(4096, 0, 0, 0, 0, 0, 0, 0), 1, i32(32), f32(4)),
      RangeError, /ptrs\[0\] is not a live allocation/],
    ['block over 1024', (a) => a.cudaLaunch(dev(a), a.cudaFunction(dev(a), 'cm_fill'), 1, 2048, ...launchArgs()), RangeError, /argument block/],
    ['ints a Float32Array', (a) => a.cudaLaunch(dev(a), a.cudaFunction(dev(a), 'cm_fill'), 1, 1, new Float64Array(8), 1, f32(32) as never, f32(4)), TypeError],
  ],
  cudaGemm: [
    ['c smaller than M × N', (a) => a.cudaGemm(dev(a), buf(a, 24), buf(a, 24), buf(a, 8), 1, 2, 2, 3, false, false, 0, 0), RangeError, /c is smaller/],
    ['a smaller than its batch strides', (a) => a.cudaGemm(dev(a), buf(a, 24), buf(a, 24), buf(a, 64), 2, 2, 2, 3, false, false, 6, 0), RangeError, /a is smaller/],
    ['M a string', (a) => a.cudaGemm(dev(a), buf(a, 24), buf(a, 24), buf(a, 16), 1, 'x' as never, 2, 3, false, false, 0, 0), TypeError],
  ],
  cudaSync: [['a device never opened', (a) => a.cudaSync(99999), RangeError]],
  cudaIndexRange: [['a Float32Array', (a) => a.cudaIndexRange(f32(3) as never), TypeError, /argument ids must be a Int32Array/]],
  cudaReleaseCached: [['device a string', (a) => a.cudaReleaseCached('x' as never), TypeError]],
  firstNonFinite: [['an Int32Array', (a) => a.firstNonFinite(i32(4) as never), TypeError, /argument a must be a Float32Array, got Int32Array/]],
};

for (const [fn, cases] of Object.entries(BAD) as [keyof AddonFunctions, Bad[]][]) {
  for (const [what, call, error, message] of cases) {
    test(`${fn}: ${what} throws a ${error.name}`, { skip }, () => {
      assert.throws(() => call(addon!), (e: unknown) => {
        assert.ok(e instanceof error, `${fn} (${what}): expected a ${error.name}, got ${String(e)}`);
        assert.match((e as Error).message, new RegExp(`^${fn}: `), 'the message names the function');
        if (message) assert.match((e as Error).message, message);
        return true;
      });
    });
  }
}

test('every addon export has its bad calls above (and each named one exists)', { skip }, () => {
  const exported = Object.keys(addon!).filter((k) => typeof (addon as unknown as Record<string, unknown>)[k] === 'function').sort();
  assert.deepEqual(exported, Object.keys(BAD).sort());
});
