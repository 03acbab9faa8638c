// Where the addon binary is, for the loader (src/addon-binary.ts) and the install script: the same
// answer in both, so `npm install` compiles exactly when the loader would find nothing.
// Order: a local build (build/Release, then build/Debug) whose recorded CPU target this CPU meets,
// then the package's prebuilds (prebuildify layout, matched by node-gyp-build's own tag rules:
// prebuilds/<platform>-<arch>/cmdcm.napi.<libc>.node); on x64 the AVX2/FMA variant in the
// x86-64-v3/ subfolder when this CPU has those features, else the portable x86-64-v2 one.
'use strict';
const fs = require('fs');
const path = require('path');
const os = require('os');
const gypBuild = require('node-gyp-build');
const { cpuFlags, hasAll, LEVELS } = require('./cpu-target.cjs');

function readJson(p) {
  try { return JSON.parse(fs.readFileSync(p, 'utf8')); } catch { return undefined; }
}

/** Why a local build must not be loaded on this CPU, or undefined when it may. */
function localBuildMismatch(root) {
  const t = readJson(path.join(root, 'build', 'cmdcm-target.json'));
  if (!t || !Array.isArray(t.requires) || t.requires.length === 0) return undefined;
  if (t.arch && t.arch !== process.arch) return `it was built for ${t.arch}`;
  const flags = cpuFlags();
  if (!flags) return undefined;
  const missing = t.requires.filter((f) => !flags.has(f));
  return missing.length ? `it was built with -march=${t.march} and this CPU lacks ${missing.slice(0, 4).join(', ')}` : undefined;
}

/** The best matching prebuild in root/prebuilds, or undefined. */
function prebuild(root) {
  const dir = path.join(root, 'prebuilds', `${os.platform()}-${os.arch()}`);
  let files;
  try { files = fs.readdirSync(dir); } catch { return undefined; }
  const runtime = 'node', abi = process.versions.modules;
  const winner = files.map(gypBuild.parseTags).filter(gypBuild.matchTags(runtime, abi)).sort(gypBuild.compareTags(runtime))[0];
  if (!winner) return undefined;
  // CMDCM_PREBUILD_TARGET=x86-64-v2 takes the baseline even on an AVX2 CPU (to test it)
  if (os.arch() === 'x64' && process.env.CMDCM_PREBUILD_TARGET !== 'x86-64-v2' && hasAll(cpuFlags(), LEVELS['x86-64-v3'])) {
    const simd = path.join(dir, 'x86-64-v3', winner.file);
    if (fs.existsSync(simd)) return { file: simd, kind: 'prebuild', target: 'x86-64-v3' };
  }
  return { file: path.join(dir, winner.file), kind: 'prebuild', target: os.arch() === 'x64' ? 'x86-64-v2' : 'baseline' };
}

/**
 * { file, kind: 'build' | 'prebuild', target } for the binary to load, or { why } when none fits.
 * CMDCM_PREBUILDS_ONLY=1 skips local builds (to test the shipped binaries); CMDCM_PREBUILD_TARGET=x86-64-v2
 * picks the portable x64 prebuild on any CPU.
 */
function findBinary(root) {
  const skipped = [];
  if (process.env.CMDCM_PREBUILDS_ONLY !== '1') {
    for (const kind of ['Release', 'Debug']) {
      const f = path.join(root, 'build', kind, 'cmdcm.node');
      if (!fs.existsSync(f)) continue;
      const bad = localBuildMismatch(root);
      if (!bad) return { file: f, kind: 'build', target: (readJson(path.join(root, 'build', 'cmdcm-target.json')) || {}).march || 'unknown' };
      skipped.push(`${f} skipped: ${bad}`);
      break;
    }
  }
  const p = prebuild(root);
  if (p) return p;
  const why = `no prebuilt binary for ${os.platform()}-${os.arch()} and no local build` + (skipped.length ? ` (${skipped.join('; ')})` : '');
  return { why };
}

module.exports = { findBinary };
