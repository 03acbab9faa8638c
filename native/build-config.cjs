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
      if (e.isDirectory()) walk(p);
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

// MPI (the `--transport mpi` trainer, native/parallel/mpi.cc): found through the compiler wrapper
// every MPI installs (Open MPI's `mpicxx --showme`, MPICH's `mpicxx -show`); only the C library is
// linked. Without it the addon builds without MPI and `--transport mpi` says what to install.
// CMDCM_NO_MPI=1 leaves it out.
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
  // the run-time path too, so the addon finds libmpi outside the default linker paths
  return { inc, libs: [...libDirs, ...libDirs.map((d) => '-Wl,-rpath,' + d.slice(2)), '-lmpi'] };
}

const what = process.argv[2];
const blas = findBlas();
const mpi = findMpi();
if (what === 'sources') console.log(sources().join(' '));
else if (what === 'defines') console.log([blas ? 'CMDCM_HAVE_OPENBLAS=1' : 'CMDCM_HAVE_OPENBLAS=0', mpi ? 'CMDCM_HAVE_MPI=1' : 'CMDCM_HAVE_MPI=0'].join(' '));
else if (what === 'cflags') console.log(['-march=native', '-fPIC', ...(blas ? blas.inc.map((i) => '-I' + i) : []), ...(mpi ? mpi.inc.map((i) => '-I' + i) : [])].join(' '));
else if (what === 'libraries') console.log([...(blas ? blas.libs : []), ...(mpi ? mpi.libs : [])].join(' '));
else { console.error('usage: build-config.cjs sources|defines|cflags|libraries'); process.exit(2); }
