/**
 * Recycles the Float32Arrays of the native kernels' outputs. A fresh 1 MB typed array costs about
 * 0.5 ms (zero-fill plus first-touch page faults), ten times an element-wise op over it, and a
 * training step allocates hundreds: so when tfjs disposes a tensor whose values one of our kernels
 * allocated, the array goes back to a per-size free list instead of the garbage collector.
 *
 * An array is recycled only while nothing else can see it:
 * - it must have been allocated here (`owned`) and registered as exactly one tensor's values;
 * - an array handed out by readSync/read (dataSync(), data(), bufferSync inside CPU kernels) has
 *   escaped to code that may keep it, and is never recycled;
 * - an array whose buffer backs another tensor too (a CPU kernel returning a subarray view, or the
 *   same array under a second dataId) is never recycled.
 * Pooled arrays hold stale values: kernels that accumulate must clear their output first.
 *
 * The pool's cap follows the most bytes its arrays ever occupied at once (the peak handed out): a
 * step's arrays all come back between steps, and a fixed cap below one step's need turned every
 * large-batch step into fresh allocations (a global batch of 4096 on the default model outgrew
 * 512 MB: ~5× more collections and 1.5× the CPU per sample). A step needs somewhat more than its
 * peak, since arrays of different sizes are asked for at different moments (measured: 1.1× at
 * batch 2048 and 4096), so the cap is 1.5× the peak, and at least 512 MB.
 */
interface BackendLike {
  data: { get(dataId: object): { values?: unknown } | undefined; has(dataId: object): boolean };
  write(values: unknown, shape: number[], dtype: string): object;
  move(dataId: object, values: unknown, shape: number[], dtype: string, refCount: number): void;
  disposeData(dataId: object, force?: boolean): boolean;
  readSync(dataId: object): unknown;
  read(dataId: object): Promise<unknown>;
}

const MIN_POOLED = 64; // elements: below this a fresh array is as cheap as the pool's bookkeeping
let minCapBytes = 512 * 1024 * 1024;

const free = new Map<number, Float32Array[]>();
let pooledBytes = 0;
/** bytes of owned arrays handed out and not yet back in the pool, and the most there ever were */
let outBytes = 0;
let peakOutBytes = 0;
const owned = new WeakSet<Float32Array>();
const live = new WeakSet<Float32Array>();
const byBuffer = new WeakMap<ArrayBufferLike, Float32Array>();
const patched = new WeakSet<object>();

/** A Float32Array of n elements for a kernel output: recycled (stale contents) when one is free. */
export function allocF32(n: number): Float32Array {
  if (n < MIN_POOLED) return new Float32Array(n);
  const list = free.get(n);
  const a = list?.pop();
  if (a) {
    pooledBytes -= a.byteLength;
    own(a);
    return a;
  }
  const fresh = new Float32Array(n);
  own(fresh);
  byBuffer.set(fresh.buffer, fresh);
  return fresh;
}

function capBytes(): number {
  return Math.max(minCapBytes, 1.5 * peakOutBytes);
}

function own(a: Float32Array): void {
  owned.add(a);
  outBytes += a.byteLength;
  if (outBytes > peakOutBytes) peakOutBytes = outBytes;
}

/** An array that may no longer be recycled (escaped, or shared by two tensors). */
function disown(a: Float32Array): void {
  if (owned.delete(a)) outBytes -= a.byteLength;
}

/** A zeroed Float32Array (for kernels that accumulate into their output). */
export function zerosF32(n: number): Float32Array {
  const a = allocF32(n);
  if (n >= MIN_POOLED) a.fill(0);
  return a;
}

function rootOf(v: unknown): Float32Array | undefined {
  return ArrayBuffer.isView(v) ? byBuffer.get((v as Float32Array).buffer) : undefined;
}

function register(values: unknown): void {
  const root = rootOf(values);
  if (!root) return;
  if (root !== values || live.has(root)) disown(root);
  else live.add(root);
}

function escape(values: unknown): void {
  const root = rootOf(values);
  if (root) disown(root);
}

/** Hooks the pool into one backend instance's data lifecycle (idempotent). */
export function installPool(backend: object): void {
  if (patched.has(backend)) return;
  patched.add(backend);
  const b = backend as BackendLike;
  const write = b.write.bind(b), move = b.move.bind(b), dispose = b.disposeData.bind(b);
  const readSync = b.readSync.bind(b), read = b.read.bind(b);
  b.write = (values, shape, dtype) => {
    register(values);
    return write(values, shape, dtype);
  };
  b.move = (dataId, values, shape, dtype, refCount) => {
    register(values);
    move(dataId, values, shape, dtype, refCount);
  };
  b.readSync = (dataId) => {
    escape(b.data.get(dataId)?.values);
    return readSync(dataId);
  };
  b.read = (dataId) => {
    escape(b.data.get(dataId)?.values);
    return read(dataId);
  };
  b.disposeData = (dataId, force) => {
    const v = b.data.get(dataId)?.values as Float32Array | undefined;
    const r = dispose(dataId, force);
    if (v && !b.data.has(dataId) && live.has(v)) {
      live.delete(v);
      if (owned.has(v)) {
        const keep = pooledBytes + v.byteLength <= capBytes();
        disown(v);
        if (keep) {
          let list = free.get(v.length);
          if (!list) free.set(v.length, (list = []));
          list.push(v);
          pooledBytes += v.byteLength;
        }
      }
    }
    return r;
  };
}

/** Drops every pooled array (e.g. after a phase with unusual shapes) and forgets the peak. */
export function clearPool(): void {
  free.clear();
  pooledBytes = 0;
  peakOutBytes = outBytes;
}

/** Sets the pool's smallest cap (tests exercise the cap with small arrays). */
export function setPoolMinCap(bytes: number): void {
  minCapBytes = bytes;
}

/** Bytes in the pool, bytes handed out, and the cap in force (tests, diagnostics). */
export function poolStats(): { pooledBytes: number; outBytes: number; capBytes: number } {
  return { pooledBytes, outBytes, capBytes: capBytes() };
}
