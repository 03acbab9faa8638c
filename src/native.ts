import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
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
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'binding.gyp'))) return dir;
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
  const candidates = [join(root, 'build', 'Release', 'cmdcm.node'), join(root, 'build', 'Debug', 'cmdcm.node')];
  const req = createRequire(import.meta.url);
  let why = `not built (looked for ${candidates[0]}; run \`npm rebuild cmdcm\` or \`npx node-gyp rebuild\`)`;
  for (const c of candidates) {
    if (!existsSync(c)) continue;
    try {
      cached = req(c) as Addon;
      return cached;
    } catch (e) {
      why = `failed to load ${c}: ${(e as Error).message}`;
    }
  }
  cached = null;
  warnOnce('addon', `native addon unavailable, using the TypeScript fallback: ${why}`);
  return undefined;
}

/** The addon, or a clear error when a caller has no fallback (e.g. the native engine). */
export function requireAddon(what: string): Addon {
  const a = loadAddon();
  if (!a) throw new Error(`${what} needs the native addon, which is not available (run \`npx node-gyp rebuild\` in the cmdcm package)`);
  return a;
}
