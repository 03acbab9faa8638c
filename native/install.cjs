// `npm install` hook. Uses the prebuilt addon when one matches this platform and CPU (no compiler
// needed); otherwise compiles it with node-gyp for a portable CPU target (native/cpu-target.cjs).
// When that fails in an installed copy (a dependency in node_modules), the install still succeeds:
// cmdcm then runs on its TypeScript kernels and says so once at run time. In cmdcm's own checkout
// (development, CI) a failed compile fails the install, so a broken native build is never hidden.
// npm_config_build_from_source=true (`npm install --build-from-source`) or CMDCM_BUILD_FROM_SOURCE=1
// always compiles.
'use strict';
const path = require('path');
const { spawnSync } = require('child_process');
const { findBinary } = require('./find-binary.cjs');

const root = path.resolve(__dirname, '..');
const fromSource = process.env.npm_config_build_from_source === 'true' || process.env.CMDCM_BUILD_FROM_SOURCE === '1';
const isDependency = root.split(path.sep).includes('node_modules');

function loads(file) {
  try {
    require(file);
    return true;
  } catch (e) {
    console.error(`cmdcm: ${file} does not load here (${e.message.split('\n')[0]}); compiling instead`);
    return false;
  }
}

if (!fromSource) {
  const found = findBinary(root);
  if (found.kind === 'prebuild' && loads(found.file)) {
    console.error(`cmdcm: using the prebuilt addon ${path.relative(root, found.file)} (${found.target})`);
    process.exit(0);
  }
}

// npm puts its own node-gyp on PATH for install scripts; a node-gyp in node_modules is the fallback.
let cmd = 'node-gyp', args = ['rebuild'];
try {
  args = [require.resolve('node-gyp/bin/node-gyp.js'), 'rebuild'];
  cmd = process.execPath;
} catch { /* use the one on PATH */ }
const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit', shell: process.platform === 'win32' });
if (r.status === 0) process.exit(0);
const why = r.error ? r.error.message : `node-gyp exited with code ${r.status}`;
if (!isDependency) {
  console.error(`cmdcm: building the native addon failed (${why})`);
  process.exit(r.status || 1);
}
console.error([
  `cmdcm: warning: no prebuilt addon for ${process.platform}-${process.arch} and compiling it failed (${why}).`,
  'cmdcm will run on its TypeScript kernels, which train about 50x slower (140 vs 6,900 samples/s on the demo).',
  'To fix: install a C++ toolchain (g++ or clang, make, python3) and run `npm rebuild cmdcm`.',
].join('\n'));
process.exit(0);
