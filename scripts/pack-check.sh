#!/bin/sh
# Packs cmdcm, installs the tarball into a fresh project the way a user with no compiler would
# (install scripts off), and checks: the prebuilt addon loads, a small demo runs on it; then with the
# prebuilds removed, the same run falls back to the TypeScript kernels with one warning.
# Prints the installed size, the import time and both run times.
# Usage: [USERS=400 ITEMS=300] sh scripts/pack-check.sh [WORKDIR]
set -eu
repo=$(cd "$(dirname "$0")/.." && pwd)
work=${1:-$(mktemp -d /tmp/cmdcm-pack-XXXXXX)}
mkdir -p "$work"
cd "$repo"
[ -d prebuilds ] || npm run prebuilds
tgz=$(npm pack --pack-destination "$work" 2>/dev/null | tail -1)
echo "tarball: $tgz ($(du -h "$work/$tgz" | cut -f1))"
proj="$work/proj"
rm -rf "$proj" && mkdir -p "$proj" && cd "$proj"
npm init -y >/dev/null
t0=$(date +%s)
npm install --ignore-scripts --no-audit --no-fund "$work/$tgz" >/dev/null 2>&1
echo "install --ignore-scripts: $(( $(date +%s) - t0 )) s; node_modules $(du -sh node_modules | cut -f1)"
for i in 1 2 3; do
  node -e "const t=process.hrtime.bigint(); require('cmdcm'); console.log('require(cmdcm) ms', Math.round(Number(process.hrtime.bigint()-t)/1e6))"
done
node -e "const p=require('./node_modules/cmdcm/dist/src/native.js'); console.log('addon:', p.addonPath())"
demo() {
  t0=$(date +%s%N)
  npx cmdcm demo --dir "$work/demo-$1" --models cmdcm --epochs 1 --users "${USERS:-400}" --items "${ITEMS:-300}" > "$work/demo-$1.out" 2> "$work/demo-$1.err"
  echo "demo ($1): $(( ($(date +%s%N) - t0) / 1000000 )) ms; warnings: $(grep -c 'warning' "$work/demo-$1.err" || true)"
}
demo prebuilt
rm -rf node_modules/cmdcm/prebuilds
node -e "const p=require('./node_modules/cmdcm/dist/src/native.js'); console.log('addon without prebuilds:', p.addonPath())" 2>&1
demo fallback
grep 'warning' "$work/demo-fallback.err" || true
