#!/bin/bash
# The as-of backtest of issue 11 on five fresh worlds: three of `cmdcm generate` (deal-waiting
# confounding 1, 0.5 and 2) and two of scripts/other-world.py (another model of shoppers), each
# prepared with the flags a Tianchi 2014 log takes and the default as-of (3 test days); 8 models x
# 3 seeds with paired bootstrap intervals against cmdcm, then `predict` of cmdcm's first seed.
# About 5-8 minutes a world on 2 cores. Usage: scripts/backtest-worlds.sh OUT_DIR
set -euo pipefail
OUT=${1:?usage: scripts/backtest-worlds.sh OUT_DIR}
cd "$(dirname "$0")/.."
C="node bin/cmdcm.js"
MODELS=cmdcm,cmdcm-nocf,cmdcm-nogate,cmdcm-nodirect,esmm,escm2-ipw,escm2-dr,dnn
mkdir -p "$OUT"
world() { # name: prepare, compare, predict
  local w=$OUT/$1
  $C prepare --log "$w/log.csv" --promo 2014-11-11:10 --promo 2014-12-12:10 --out "$w/ds" > "$w/prepare.txt"
  $C compare --data "$w/ds" --models $MODELS --truth "$w/truth.csv" --seeds 3 --out "$w/runs" --json "$w/compare.json" > "$w/compare.md"
  $C predict --run "$w/runs/cmdcm/seed-1" --data "$w/ds" --out "$w/pred.csv" > "$w/predict.txt"
  echo "$1: $(sed -n 3p "$w/compare.md" | cut -d'|' -f2-3); $(cat "$w/predict.txt")"
}
for spec in "31 1" "32 0.5" "33 2"; do
  set -- $spec
  mkdir -p "$OUT/g$1"
  $C generate --out "$OUT/g$1/log.csv" --truth "$OUT/g$1/truth.csv" --seed "$1" --users 1500 --items 1000 --confounding "$2" > "$OUT/g$1/generate.txt"
  world "g$1"
done
for s in 41 42; do
  mkdir -p "$OUT/o$s"
  python3 scripts/other-world.py --out "$OUT/o$s/log.csv" --truth "$OUT/o$s/truth.csv" --seed "$s" --users 1500 --items 1000 > "$OUT/o$s/generate.txt"
  world "o$s"
done
