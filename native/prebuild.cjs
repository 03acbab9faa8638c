// `npm run prebuilds`: the addon binaries shipped in the package (prebuilds/, prebuildify layout,
// loaded through native/find-binary.cjs). N-API, so one binary per platform and CPU target serves
// every Node version. Built self-contained: the in-tree GEMM (no libopenblas at run time) and no
// -march=native, for two x64 targets, the portable baseline and AVX2/FMA, picked at load time:
//   prebuilds/linux-x64/cmdcm.napi.glibc.node             -march=x86-64-v2
//   prebuilds/linux-x64/x86-64-v3/cmdcm.napi.glibc.node   -march=x86-64-v3
//   prebuilds/linux-arm64/cmdcm.napi.glibc.node           -march=armv8-a (when run on arm64)
// Each build runs in a temporary copy of the build inputs, so the checkout's own build/ is untouched.
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');
const { spawnSync, execFileSync } = require('child_process');

const root = path.resolve(__dirname, '..');
const arch = os.arch(), platform = os.platform();
const targets = arch === 'x64' ? [['x86-64-v2', ''], ['x86-64-v3', 'x86-64-v3']] : arch === 'arm64' ? [['armv8-a', '']] : [['', '']];
// npm sets npm_config_node_gyp for scripts to its bundled node-gyp; else one on PATH
const nodeGyp = process.env.npm_config_node_gyp ? `"${process.execPath}" "${process.env.npm_config_node_gyp}"` : 'node-gyp';
const prebuildify = require.resolve('prebuildify/bin.js', { paths: [root] });

// --if-missing (the prepublishOnly hook): keep prebuilds that are already there
if (process.argv.includes('--if-missing') && fs.existsSync(path.join(root, 'prebuilds', `${platform}-${arch}`))) {
  console.error(`cmdcm prebuild: prebuilds/${platform}-${arch} exists; \`npm run prebuilds\` rebuilds it`);
  process.exit(0);
}

for (const [march, sub] of targets) {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cmdcm-prebuild-'));
  try {
    for (const f of ['binding.gyp', 'package.json']) fs.copyFileSync(path.join(root, f), path.join(tmp, f));
    fs.cpSync(path.join(root, 'native'), path.join(tmp, 'native'), { recursive: true });
    fs.symlinkSync(path.join(root, 'node_modules'), path.join(tmp, 'node_modules'));
    const env = { ...process.env, CMDCM_MARCH: march, CMDCM_NO_BLAS: '1', CMDCM_NO_MPI: '1' };
    const args = [prebuildify, '--napi', '--strip', '--tag-libc', '--target', `node@${process.versions.node}`, '--node-gyp', nodeGyp, '--shell', '/bin/sh', '--cwd', tmp];
    console.error(`cmdcm prebuild: ${platform}-${arch} ${march || '(compiler default)'}`);
    const r = spawnSync(process.execPath, args, { env, stdio: 'inherit' });
    if (r.status !== 0) throw new Error(`prebuildify failed for ${march} (exit ${r.status})`);
    const built = path.join(tmp, 'prebuilds', `${platform}-${arch}`);
    const dest = path.join(root, 'prebuilds', `${platform}-${arch}`, sub);
    fs.mkdirSync(dest, { recursive: true });
    for (const f of fs.readdirSync(built).filter((x) => x.endsWith('.node'))) {
      fs.copyFileSync(path.join(built, f), path.join(dest, f));
      const file = path.join(dest, f);
      // a shipped binary must need nothing beyond the C/C++ runtime (no libopenblas, no MPI)
      let needed = '';
      try { needed = execFileSync('readelf', ['-d', file]).toString(); } catch { /* no readelf: skip the check */ }
      const libs = [...needed.matchAll(/\(NEEDED\)\s+Shared library: \[([^\]]+)\]/g)].map((m) => m[1]);
      const extra = libs.filter((l) => !/^(libc|libm|libstdc\+\+|libgcc_s|libpthread|libdl|ld-linux.*)\.so/.test(l));
      if (extra.length) throw new Error(`${file} needs ${extra.join(', ')}: a prebuild must be self-contained`);
      console.error(`cmdcm prebuild: wrote ${path.relative(root, file)} (${fs.statSync(file).size} bytes; needs ${libs.join(', ') || 'nothing'})`);
    }
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}
