// Build configuration for binding.gyp: lists the addon's sources (every .cc under native/, so a new
// kernel file needs no gyp edit), and detects OpenBLAS. Without OpenBLAS the in-tree GEMM is used,
// so `npm install` works on a bare machine. CMDCM_NO_BLAS=1 forces the in-tree kernel.
'use strict';
const fs = require('fs');
const path = require('path');
const { execSync } = require('child_process');

const root = __dirname;

function sources() {
  const out = [];
  const walk = (dir) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      // native/mpi/ is the separate MPI addon (binding.gyp's cmdcm_mpi target), never part of this one
      if (e.isDirectory()) {
        if (p !== path.join(root, 'mpi')) walk(p);
      }
      else if (e.name.endsWith('.cc')) out.push(path.relative(path.join(root, '..'), p));
    }
  };
  walk(root);
  return out.sort();
}

function findBlas() {
  if (process.env.CMDCM_NO_BLAS === '1') return null;
  const candidates = ['/usr/include/x86_64-linux-gnu', '/usr/include/openblas', '/usr/include', '/usr/local/include',
    '/usr/include/aarch64-linux-gnu', '/opt/OpenBLAS/include'];
  try {
    const flags = execSync('pkg-config --cflags --libs openblas', { stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
    if (flags) {
      const inc = flags.split(/\s+/).filter((f) => f.startsWith('-I')).map((f) => f.slice(2));
      const libs = flags.split(/\s+/).filter((f) => f.startsWith('-l') || f.startsWith('-L'));
      return { inc, libs };
    }
  } catch { /* no pkg-config entry */ }
  for (const dir of candidates) {
    if (fs.existsSync(path.join(dir, 'cblas.h')) || fs.existsSync(path.join(dir, 'openblas', 'cblas.h'))) {
      const libDirs = ['/usr/lib/x86_64-linux-gnu', '/usr/lib/aarch64-linux-gnu', '/usr/lib', '/usr/local/lib', '/opt/OpenBLAS/lib'];
      for (const ld of libDirs) {
        if (fs.existsSync(path.join(ld, 'libopenblas.so'))) {
          const inc = fs.existsSync(path.join(dir, 'openblas', 'cblas.h')) ? path.join(dir, 'openblas') : dir;
          return { inc: [inc], libs: ['-L' + ld, '-lopenblas'] };
        }
      }
    }
  }
  return null;
}

// MPI (the `--transport mpi` trainer): found through the compiler wrapper every MPI installs (Open
// MPI's `mpicxx --showme`, MPICH's `mpicxx -show`). It builds a second addon, cmdcm_mpi.node
// (native/mpi/), so the main addon never links libmpi. CMDCM_NO_MPI=1 leaves it out.
function findMpi() {
  if (process.env.CMDCM_NO_MPI === '1') return null;
  const run = (cmd) => {
    try {
      return execSync(cmd, { stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
    } catch {
      return null;
    }
  };
  const ompiC = run('mpicxx --showme:compile'), ompiL = run('mpicxx --showme:link');
  const flags = ompiC !== null && ompiL !== null ? `${ompiC} ${ompiL}` : run('mpicxx -show');
  if (!flags) return null;
  const words = flags.split(/\s+/);
  const inc = words.filter((f) => f.startsWith('-I')).map((f) => f.slice(2));
  const libDirs = words.filter((f) => f.startsWith('-L'));
  if (!inc.some((d) => fs.existsSync(path.join(d, 'mpi.h')))) return null;
  // only the C library, and its directory as the run-time path too
  return { inc, libs: [...libDirs, ...libDirs.map((d) => '-Wl,-rpath,' + d.slice(2)), '-lmpi'] };
}

const what = process.argv[2];
if (what && what.startsWith('mpi-')) {
  const mpi = findMpi();
  if (what === 'mpi-found') console.log(mpi ? 1 : 0);
  else if (what === 'mpi-cflags') console.log(mpi ? mpi.inc.map((i) => '-I' + i).join(' ') : '');
  else if (what === 'mpi-libraries') console.log(mpi ? mpi.libs.join(' ') : '');
  else { console.error('usage: build-config.cjs mpi-found|mpi-cflags|mpi-libraries'); process.exit(2); }
  process.exit(0);
}
const blas = findBlas();
if (what === 'sources') console.log(sources().join(' '));
else if (what === 'defines') console.log(blas ? 'CMDCM_HAVE_OPENBLAS=1' : 'CMDCM_HAVE_OPENBLAS=0');
// The CPU target (-march) and its record for the loader: native/cpu-target.cjs.
else if (what === 'cflags') console.log([...require('./cpu-target.cjs').cflags(path.join(root, '..', 'build')), '-fPIC', ...(blas ? blas.inc.map((i) => '-I' + i) : [])].join(' '));
// -ldl: the cuda engine opens libcuda, NVRTC and cuBLAS with dlopen at run time (native/cuda/loader.cc)
else if (what === 'libraries') console.log([...(blas ? blas.libs : []), '-ldl'].join(' '));
else { console.error('usage: build-config.cjs sources|defines|cflags|libraries'); process.exit(2); }
