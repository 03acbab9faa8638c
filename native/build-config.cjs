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

const what = process.argv[2];
const blas = findBlas();
if (what === 'sources') console.log(sources().join(' '));
else if (what === 'defines') console.log(blas ? 'CMDCM_HAVE_OPENBLAS=1' : 'CMDCM_HAVE_OPENBLAS=0');
// The CPU target (-march) and its record for the loader: native/cpu-target.cjs.
else if (what === 'cflags') console.log([...require('./cpu-target.cjs').cflags(path.join(root, '..', 'build')), '-fPIC', ...(blas ? blas.inc.map((i) => '-I' + i) : [])].join(' '));
else if (what === 'libraries') console.log(blas ? blas.libs.join(' ') : '');
else { console.error('usage: build-config.cjs sources|defines|cflags|libraries'); process.exit(2); }
