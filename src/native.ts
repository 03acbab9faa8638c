import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isMainThread } from 'node:worker_threads';
import { warnOnce } from './util/log.js';

/**
 * Loads the C++ addon once per thread (it is context-aware, so each worker thread gets its own
 * instance). Returns undefined when it cannot load; callers fall back to the TypeScript
 * implementations, and a single warning names why. CMDCM_NO_NATIVE=1 forces the fallback.
 */
// The addon's surface is typed where it is used (features/, engine/, parallel/), each module
// declaring the functions it needs.
export type Addon = Record<string, (...args: any[]) => any>;

let cached: Addon | null | undefined;

function packageRoot(): string {
  // dist/src/native.js -> package root is two levels up from dist/src
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 4; i++) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'native', 'find-binary.cjs'))) return dir;
    dir = dirname(dir);
  }
  return dirname(dirname(dirname(fileURLToPath(import.meta.url))));
}

export function loadAddon(): Addon | undefined {
  if (cached !== undefined) return cached ?? undefined;
  if (process.env.CMDCM_NO_NATIVE === '1') {
    cached = null;
    return undefined;
  }
  const root = packageRoot();
  const req = createRequire(import.meta.url);
  // Which binary: a local build that fits this CPU, else the prebuilt one for this platform and CPU
  // (native/find-binary.cjs, shared with the install script so both agree).
  let why: string;
  try {
    const { findBinary } = req(join(root, 'native', 'find-binary.cjs')) as { findBinary(root: string): { file?: string; why?: string } };
    const found = findBinary(root);
    if (found.file) {
      try {
        cached = req(found.file) as Addon;
        addonFile = found.file;
        return cached;
      } catch (e) {
        why = `${found.file} failed to load: ${(e as Error).message.split('\n')[0]}`;
      }
    } else {
      why = found.why!;
    }
  } catch (e) {
    why = `the addon loader failed: ${(e as Error).message.split('\n')[0]}`;
  }
  cached = null;
  // One warning per process (worker threads load the addon too, and would repeat it), saying what it
  // costs and how to fix it: silently training tens of times slower is worse than any message.
  if (isMainThread) {
    warnOnce('addon', `the native addon is unavailable, so cmdcm runs on its TypeScript kernels (training about 50x slower: 140 vs 6,900 samples/s on the demo): ${why}. ` +
      'To fix: install a C++ toolchain (g++, make, python3) and run `npm rebuild cmdcm`.');
  }
  return undefined;
}

let addonFile: string | undefined;

/** The path of the loaded addon binary (for `cmdcm bench` and bug reports), or undefined. */
export function addonPath(): string | undefined {
  loadAddon();
  return addonFile;
}

/** The addon, or a clear error when a caller has no fallback (e.g. the native engine). */
export function requireAddon(what: string): Addon {
  const a = loadAddon();
  if (!a) throw new Error(`${what} needs the native addon, which is not available (run \`npx node-gyp rebuild\` in the cmdcm package)`);
  return a;
}
