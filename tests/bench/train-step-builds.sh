#!/usr/bin/env bash
# Training steps of several trainer builds in one run, alternated, so that
# their ratios are measured on the same machine at the same time:
#   tests/bench/train-step-builds.sh [--rounds N] [--threads "2 1"] TRAINER...
# Run from the repository root with nothing else running. Each TRAINER is a
# release binary (copy $CARGO_TARGET_DIR/release/trainer aside per build).
set -euo pipefail
rounds=2
threads="2 1"
while [[ $# -gt 0 && $1 == --* ]]; do
  case $1 in
    --rounds) rounds=$2; shift 2 ;;
    --threads) threads=$2; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
[[ $# -gt 0 ]] || { echo "usage: $0 [--rounds N] [--threads \"2 1\"] TRAINER..." >&2; exit 2; }
configs=(trainer/configs/sesr-m5-x2.json trainer/configs/fsrcnn-x2.json trainer/configs/sesr-m11-x2.json trainer/configs/sesr-xl-x2.json)
for round in $(seq "$rounds"); do
  for t in $threads; do
    for trainer in "$@"; do
      echo "== $trainer threads=$t round=$round"
      RAYON_NUM_THREADS=$t "$trainer" bench --steps 5 --batch 16 --models vdsr edsr-baseline --config "${configs[@]}" 2>&1 |
        grep -E '^(vdsr|edsr|sesr|fsrcnn)'
    done
  done
done
