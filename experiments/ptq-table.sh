#!/usr/bin/env bash
# Weight-only PTQ table (GPFQ vs RTN, first/last layer 8-bit, 2048 calibration images, seed 0) for the
# float baselines in results/float/. Writes results/ptq/<model>-<method>-w<bits>.json (result + command +
# environment). Usage: bash experiments/ptq-table.sh [model ...]   (default: mlp lenet5)
set -euo pipefail
cd "$(dirname "$0")/.."
models=("$@")
[ ${#models[@]} -gt 0 ] || models=(mlp lenet5)
mkdir -p results/ptq runs
for m in "${models[@]}"; do
  for bits in 4 3 2; do
    for method in rtn gpfq; do
      out="runs/ptq-$m-$method-w$bits"
      cmd=(./bin/lowbit.js ptq --checkpoint "results/float/$m.safetensors" --method "$method" --wbits "$bits" --calib 2048 --seed 0 --out "$out" --json)
      echo "+ ${cmd[*]}" >&2
      "${cmd[@]}" > "$out.json"
      node experiments/record-result.mjs "$out.json" "$out" "results/ptq/$m-$method-w$bits.json" "${cmd[*]}"
    done
  done
done
