#!/usr/bin/env bash
# The bundle that bench/device-check.sh unpacks on the GPU machine, which has no Node.js and no
# network: .device/bundle.tar.xz (git-ignored; the device tool's `carry` brings `.device`), holding
#   .device/bin/node                 this machine's Node binary (needs glibc >= 2.28 only)
#   dist/                            the compiled TypeScript (src, bench, test)
#   node_modules/<production deps>   what `npm ls --omit=dev` lists (no source maps)
#   prebuilds/linux-x64/             the addon, built here for the portable x86-64-v2 baseline and,
#                                    in x86-64-v3/, for AVX2+FMA (the loader picks what the CPU has);
#                                    without OpenBLAS or MPI, so it needs nothing but libc/libstdc++
# It must stay under the device tool's 64 MiB carry limit (checked at the end).
# Usage: bench/device-pack.sh            (builds the two addons and dist/, ~2 min)
#        SKIP_BUILD=1 bench/device-pack.sh   (reuses .device/prebuilds and dist/)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
NODE=${NODE:-$(command -v node)}
NODEGYP=${NODEGYP:-/usr/lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js}
[ -f "$NODEGYP" ] || NODEGYP=$(dirname "$(readlink -f "$NODE")")/../lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js
NODEDIR=${NODEDIR:-$(dirname "$(dirname "$(readlink -f "$NODE")")")}
STAGE=$ROOT/.device/stage
mkdir -p .device
# what an in-place unpack left here would count against the device tool's 64 MiB carry
rm -rf "$STAGE" .device/bin .device/out .device/cuda-cache
mkdir -p "$STAGE/.device/bin" "$STAGE/prebuilds/linux-x64/x86-64-v3"

build_addon() { # $1 = march, $2 = destination file
  local tmp
  tmp=$(mktemp -d /tmp/cmdcm-device-pack-XXXXXX)
  cp binding.gyp package.json "$tmp/"
  cp -r native "$tmp/native"
  ln -s "$ROOT/node_modules" "$tmp/node_modules"
  (cd "$tmp" && CMDCM_MARCH=$1 CMDCM_NO_BLAS=1 CMDCM_NO_MPI=1 flock /tmp/cmdcm-build.lock "$NODE" "$NODEGYP" rebuild --nodedir="$NODEDIR" >"$tmp/build.log" 2>&1) ||
    { tail -20 "$tmp/build.log"; echo "device-pack: the $1 addon build failed" >&2; exit 1; }
  cp "$tmp/build/Release/cmdcm.node" "$2"
  rm -rf "$tmp"
}

if [ "${SKIP_BUILD:-0}" != 1 ]; then
  build_addon x86-64-v2 .device/cmdcm-v2.node
  build_addon x86-64-v3 .device/cmdcm-v3.node
  flock /tmp/cmdcm-tsc.lock npx tsc -p .
fi
for f in .device/cmdcm-v2.node .device/cmdcm-v3.node dist/bench/cuda-check.js; do
  [ -f "$f" ] || { echo "device-pack: $f is missing (run without SKIP_BUILD=1)" >&2; exit 1; }
done
# a prebuild must need nothing the GPU machine may lack
if readelf -d .device/cmdcm-v2.node | grep -E 'NEEDED.*(openblas|mpi)'; then echo "device-pack: the addon links OpenBLAS/MPI" >&2; exit 1; fi
cp .device/cmdcm-v2.node "$STAGE/prebuilds/linux-x64/cmdcm.napi.glibc.node"
cp .device/cmdcm-v3.node "$STAGE/prebuilds/linux-x64/x86-64-v3/cmdcm.napi.glibc.node"
cp "$(readlink -f "$NODE")" "$STAGE/.device/bin/node"
cp -r dist "$STAGE/dist"
# production dependencies, as npm resolves them (node_modules may be a symlink to another checkout)
mkdir -p "$STAGE/node_modules"
npm ls --omit=dev --all --parseable 2>/dev/null | tail -n +2 | while read -r p; do
  rel=${p#"$(readlink -f node_modules)/"}
  rel=${rel#"$ROOT/node_modules/"}
  [ "$rel" = "$p" ] && continue
  mkdir -p "$STAGE/node_modules/$(dirname "$rel")"
  [ -e "$STAGE/node_modules/$rel" ] || cp -rL "node_modules/$rel" "$STAGE/node_modules/$rel"
done
find "$STAGE/node_modules" -name '*.map' -delete
tar -C "$STAGE" -cf - .device dist node_modules prebuilds | xz -T0 -6 > .device/bundle.tar.xz.tmp
mv .device/bundle.tar.xz.tmp .device/bundle.tar.xz
rm -rf "$STAGE"
bytes=$(stat -c %s .device/bundle.tar.xz)
echo "device-pack: .device/bundle.tar.xz $((bytes / 1048576)) MiB ($bytes bytes)"
# the device tool carries at most 64 MiB in all (.device is what it carries)
total=$(du -sb .device | cut -f1)
echo "device-pack: .device holds $((total / 1048576)) MiB; run it with the device tool's carry [\".device\"]"
[ "$total" -lt $((60 * 1048576)) ] || { echo "device-pack: .device is over 60 MiB" >&2; exit 1; }
