#!/usr/bin/env bash
# The cuda engine's GPU check, in one go (issue 16). On the GPU machine (one H100/H200, CUDA driver
# with NVRTC and cuBLAS, PyTorch, no Node.js, no network) it unpacks .device/bundle.tar.xz (made
# here by bench/device-pack.sh: a Node binary, dist/, the production node_modules, the portable
# addon), then
#   1. probes the GPU (libcuda, cuBLAS, NVRTC found where the system or PyTorch's wheels keep them),
#   2. runs the cuda kernel and full-model gradient tests on the GPU (test/engine/cuda/*.test.ts with
#      CMDCM_CUDA_DEVICE=gpu) and the 2-process transport test (two processes sharing the GPU),
#   3. trains the default CM-DCM 50 steps on native and on cuda from the same start (loss curves),
#   4. `cmdcm bench step` at batch 4096, 16384, 65536 on cuda and on native (one native worker),
#   5. ../shared/bench/torch_ref.py --device cuda at the same batches (PyTorch eager, same GPU),
# and writes everything under $OUT (device-check.json: the summary; *.tap, *.jsonl: the raw output).
# Budget: DEADLINE_S (520 s) for the whole run; steps that would pass it are cut short or skipped.
#
#   bench/device-check.sh            on the GPU machine (the device tool: see README "GPU engine")
#   bench/device-check.sh --dry-run  anywhere: the same steps with the CPU shim device for the GPU
#                                    and tiny sizes; checks the bundle, the unpacked Node and addon,
#                                    and that --engine cuda fails cleanly without a GPU
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
DRY=0
[ "${1:-}" = --dry-run ] && DRY=1
if [ $DRY = 1 ] && [ -z "${CMDCM_DRY_SANDBOX:-}" ]; then
  # what the device tool does: a fresh copy of the tracked and untracked-unignored files plus the
  # carried .device (the bundle only), and no `node` on PATH (a stand-in that fails)
  [ -f .device/bundle.tar.xz ] || { echo "no .device/bundle.tar.xz: run bench/device-pack.sh first" >&2; exit 2; }
  SB=$(mktemp -d /tmp/cmdcm-device-dry-XXXXXX)
  mkdir -p "$SB/repo/.device" "$SB/bin"
  git ls-files -co --exclude-standard | grep -v '^node_modules$' | tar -cf - -T - | tar -xf - -C "$SB/repo"
  cp .device/bundle.tar.xz "$SB/repo/.device/"
  printf '#!/bin/sh\necho "node is not installed on the device machine" >&2\nexit 127\n' >"$SB/bin/node"
  chmod +x "$SB/bin/node"
  echo "device-check --dry-run in $SB/repo (output in ${OUT:-$SB/out})" >&2
  PATH=$SB/bin:$PATH CMDCM_DRY_SANDBOX=1 OUT=${OUT:-$SB/out} bash "$SB/repo/bench/device-check.sh" --dry-run
  rc=$?
  if [ "${KEEP:-0}" != 1 ]; then
    rm -rf "$SB/repo" "$SB/bin"
    [ -d "$SB/out" ] || rmdir "$SB"
  fi
  exit $rc
fi
OUT=${OUT:-$ROOT/.device/out}
mkdir -p "$OUT"
LOG=$OUT/device-check.log
: >"$LOG"
T0=$(date +%s)
elapsed() { echo $(($(date +%s) - T0)); }
# one deadline for the whole run (the device tool allows 600 s a command): each step's timeout is
# its own cap or what is left, and a step with under 15 s left is skipped
DEADLINE=${DEADLINE_S:-520}
tmo() {
  local left=$((DEADLINE - $(elapsed)))
  if [ "$left" -lt "$1" ]; then echo "$left"; else echo "$1"; fi
}
late() { [ $((DEADLINE - $(elapsed))) -lt 15 ]; }
say() { echo "[device-check $(elapsed)s] $*" | tee -a "$LOG" >&2; }

# 1. the bundle (always unpacked again: a warm machine may hold an older one)
[ -f .device/bundle.tar.xz ] || { say "no .device/bundle.tar.xz: run bench/device-pack.sh first and carry .device"; exit 2; }
if command -v xz >/dev/null 2>&1; then
  xz -dc .device/bundle.tar.xz | tar -xf - -C "$ROOT" || { say "unpacking failed"; exit 2; }
else
  python3 -c 'import sys, tarfile; tarfile.open(sys.argv[1]).extractall(sys.argv[2])' .device/bundle.tar.xz "$ROOT" || { say "unpacking failed"; exit 2; }
fi
NODE=$ROOT/.device/bin/node
"$NODE" --version >"$OUT/node-version.txt" 2>&1 || { say "the bundled node does not run: $(cat "$OUT/node-version.txt")"; exit 2; }
say "node $(cat "$OUT/node-version.txt") unpacked"
export CMDCM_LOG_LEVEL=silent CMDCM_QUIET=1
export CMDCM_CUDA_CACHE=$ROOT/.device/cuda-cache

# 2. NVRTC and cuBLAS where the system or PyTorch's pip wheels (site-packages/nvidia/*/lib) keep them
SITE=$(python3 -c 'import site; print(" ".join(site.getsitepackages()))' 2>/dev/null || true)
for pat in 'libnvrtc.so*' 'libcublas.so*'; do
  # shellcheck disable=SC2086
  f=$(find /usr/local/cuda*/lib64 /usr/local/cuda*/targets/*/lib /usr/lib/x86_64-linux-gnu /usr/lib64 $SITE -maxdepth 5 -name "$pat" 2>/dev/null | sort -V | tail -1)
  [ -n "$f" ] && export LD_LIBRARY_PATH=${LD_LIBRARY_PATH:+$LD_LIBRARY_PATH:}$(dirname "$f") && say "found $f"
done
(nvidia-smi -L; nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv) >"$OUT/nvidia-smi.txt" 2>&1 || true
lscpu >"$OUT/lscpu.txt" 2>&1 || true

"$NODE" dist/bench/cuda-check.js probe >"$OUT/probe.json" 2>>"$LOG"
say "probe: $(cat "$OUT/probe.json")"
DEVICE=gpu
if ! grep -q '"ok":true' "$OUT/probe.json"; then
  if [ $DRY = 1 ]; then
    # the clean failure a user without a GPU gets, then the rest on the CPU shim
    "$NODE" bin/cmdcm.js bench step --engine cuda --batch 8 --rows 1000 --steps 1 --warmup 0 >/dev/null 2>"$OUT/no-gpu-error.txt"
    echo "exit $?" >>"$OUT/no-gpu-error.txt"
    say "without a GPU: $(head -1 "$OUT/no-gpu-error.txt")"
    DEVICE=shim
  else
    say "no usable GPU: see probe.json"
    "$NODE" dist/bench/cuda-check.js summary "$OUT"
    exit 1
  fi
fi
export CMDCM_CUDA_DEVICE=$DEVICE

# 3. kernel and gradient tests on the device
for t in loader kernels model-grad process; do
  late && { say "test $t: skipped (deadline)"; continue; }
  timeout "$(tmo 180)" "$NODE" --test --test-reporter=tap "dist/test/engine/cuda/$t.test.js" >"$OUT/$t.tap" 2>&1
  say "test $t: exit $? ($(grep -E '^# (pass|fail) ' "$OUT/$t.tap" | tr '\n' ' '))"
done

# 4. the default CM-DCM, 50 steps on native and on cuda
if [ $DRY = 1 ]; then CURVE="64 5"; else CURVE="1024 50"; fi
# shellcheck disable=SC2086
late || timeout "$(tmo 150)" "$NODE" dist/bench/cuda-check.js curve $CURVE >"$OUT/curve.json" 2>>"$LOG"
say "curve: exit $? $(head -c 300 "$OUT/curve.json")"

# 5. step throughput: cuda, one native worker, PyTorch eager on the same GPU
if [ $DRY = 1 ]; then BATCHES="64 128 256"; CUDA_STEPS="--steps 1 --warmup 1"; ROWS=10000; else BATCHES="4096 16384 65536"; CUDA_STEPS="--steps 20 --warmup 3"; ROWS=1000000; fi
for B in $BATCHES; do
  # shellcheck disable=SC2086
  late && { say "bench cuda $B: skipped (deadline)"; continue; }
  timeout "$(tmo 90)" "$NODE" bin/cmdcm.js bench step --engine cuda --batch "$B" --rows $ROWS $CUDA_STEPS >"$OUT/bench-cuda-$B.jsonl" 2>>"$LOG"
  say "bench cuda $B: exit $? $(grep '"step"' "$OUT/bench-cuda-$B.jsonl" | head -c 300)"
done
# where a cuda step's time goes (each kernel between two syncs: slower than the step above)
# shellcheck disable=SC2086
late || timeout "$(tmo 90)" "$NODE" bin/cmdcm.js bench step --engine cuda --batch "$(echo $BATCHES | cut -d' ' -f2)" --rows $ROWS --steps 2 --warmup 1 --profile >"$OUT/profile-cuda.jsonl" 2>>"$LOG"
say "profile cuda: exit $? ($(grep -c '"profile"' "$OUT/profile-cuda.jsonl") kernels)"
SHARED=""
for d in shared ../shared; do [ -f "$d/bench/torch_ref.py" ] && SHARED=$d && break; done
for B in $BATCHES; do
  if [ $DRY = 1 ]; then
    say "torch $B: skipped in a dry run"
  elif [ -z "$SHARED" ]; then
    say "torch: no shared/bench/torch_ref.py here"
  else
    late && { say "torch $B: skipped (deadline)"; continue; }
    timeout "$(tmo 90)" python3 "$SHARED/bench/torch_ref.py" --device cuda --batch "$B" >"$OUT/torch-$B.jsonl" 2>>"$LOG"
    say "torch $B: exit $? $(head -c 300 "$OUT/torch-$B.jsonl")"
  fi
done
for B in $BATCHES; do
  # one native worker is slow at large batches: fewer steps, and none when time runs low
  case $B in 4096) NS="--steps 3 --warmup 1" ;; 16384) NS="--steps 2 --warmup 1" ;; *) NS="--steps 1 --warmup 0" ;; esac
  if [ "$(elapsed)" -gt $((DEADLINE - 150)) ] && [ "$B" != 16384 ]; then say "native $B: skipped (time)"; continue; fi
  late && { say "native $B: skipped (deadline)"; continue; }
  # shellcheck disable=SC2086
  timeout "$(tmo 150)" "$NODE" bin/cmdcm.js bench step --engine native --batch "$B" --rows $ROWS $NS >"$OUT/bench-native-$B.jsonl" 2>>"$LOG"
  say "bench native $B: exit $? $(grep '"step"' "$OUT/bench-native-$B.jsonl" | head -c 300)"
done

"$NODE" dist/bench/cuda-check.js summary "$OUT" >>"$LOG" 2>&1
say "done: $OUT/device-check.json"
cat "$OUT/device-check.json"
