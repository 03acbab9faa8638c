// Which CPU the compiled addon may assume (used by build-config.cjs at gyp time, and by the loader).
// -march=native made a binary built in one place (a Docker stage, a CI runner) die with SIGILL on
// another CPU, so every build names a target and records what that target needs from the CPU in
// build/cmdcm-target.json; the loader refuses a build whose needs this CPU does not meet.
//   CMDCM_MARCH=native      this machine only (`npm run build:native`)
//   CMDCM_MARCH=x86-64-v2   the portable x64 baseline (SSE4.2, no AVX): the default prebuild
//   CMDCM_MARCH=x86-64-v3   AVX2 + FMA (the SIMD kernels): the second x64 prebuild, picked at run time
//   unset                   x86-64-v3 when the building CPU has it, else x86-64-v2 (arm64: armv8-a)
'use strict';
const fs = require('fs');
const path = require('path');

const V2 = ['cx16', 'lahf_lm', 'popcnt', 'sse4_1', 'sse4_2', 'ssse3'];
const LEVELS = {
  'x86-64-v2': V2,
  // abm = LZCNT; bmi1/bmi2/movbe/f16c come with -march=x86-64-v3 and GCC may emit them anywhere
  'x86-64-v3': [...V2, 'abm', 'avx', 'avx2', 'bmi1', 'bmi2', 'f16c', 'fma', 'movbe', 'xsave'],
};
// CPU features a -march=native build may have used (recorded so the loader can check them)
const SIMD_FLAG = /^(sse\d?(_\d)?|ssse3|avx.*|fma\d?|bmi\d|f16c|abm|movbe|popcnt|amx.*|vaes|vpclmulqdq|gfni|sha_ni)$/;

/** This CPU's feature flags (Linux /proc/cpuinfo), or undefined where that is not readable. */
function cpuFlags() {
  try {
    const info = fs.readFileSync('/proc/cpuinfo', 'utf8');
    const line = info.split('\n').find((l) => /^(flags|Features)\s*:/.test(l));
    return line ? new Set(line.split(':')[1].trim().split(/\s+/)) : undefined;
  } catch {
    return undefined;
  }
}

function hasAll(flags, need) {
  return !!flags && need.every((f) => flags.has(f));
}

/** The -march the build uses (see the table above). */
function march() {
  if (process.env.CMDCM_MARCH) return process.env.CMDCM_MARCH;
  if (process.arch === 'x64') return hasAll(cpuFlags(), LEVELS['x86-64-v3']) ? 'x86-64-v3' : 'x86-64-v2';
  if (process.arch === 'arm64') return 'armv8-a';
  return '';
}

/** The CPU flags a build for `m` needs (empty: nothing checkable). */
function requires(m) {
  if (LEVELS[m]) return LEVELS[m];
  if (m === 'native') return [...(cpuFlags() || [])].filter((f) => SIMD_FLAG.test(f)).sort();
  return [];
}

/** The compiler flag, and a record of the target beside the build output. */
function cflags(buildDir) {
  const m = march();
  try {
    fs.mkdirSync(buildDir, { recursive: true });
    fs.writeFileSync(path.join(buildDir, 'cmdcm-target.json'), JSON.stringify({ march: m || 'default', arch: process.arch, requires: requires(m) }) + '\n');
  } catch { /* the record is a safety check, not needed to build */ }
  return m ? ['-march=' + m] : [];
}

module.exports = { LEVELS, cpuFlags, hasAll, march, requires, cflags };
