#!/usr/bin/env bash
# PTQ table (issue 6): GPFQ vs RTN at W4/W3/W2, first/last layer 8-bit, 2048 calibration images, seed 0,
# on the float baselines in results/float/. Weight-only by default; ABITS="32 8" adds 8-bit activations
# (ranges set on the calibration images after the weights). Writes
# results/ptq/<model>-<method>-w<bits>[-a<abits>].json (result + exact command + machine + commit);
# entries already recorded are skipped, so an interrupted table continues where it stopped.
# GRAN picks the step granularities: both by default, one step per layer and one per output channel
# (the CLI's default; files end in -ch), as results/ptq/README.md tabulates them.
# Usage: [ABITS="32 8"] [BITS="4 3 2"] [GRAN="layer channel"] bash experiments/ptq-table.sh [model ...]   (default: mlp lenet5)
set -euo pipefail
cd "$(dirname "$0")/.."
models=("$@")
[ ${#models[@]} -gt 0 ] || models=(mlp lenet5)
mkdir -p results/ptq runs
for m in "${models[@]}"; do
  for gran in ${GRAN:-layer channel}; do
  for abits in ${ABITS:-32}; do
    for bits in ${BITS:-4 3 2}; do
      for method in rtn gpfq; do
        suffix="w$bits"
        [ "$abits" = 32 ] || suffix="$suffix-a$abits"
        [ "$gran" = layer ] || suffix="$suffix-ch"
        out="runs/ptq-$m-$method-$suffix"
        record="results/ptq/$m-$method-$suffix.json"
        if [ -f "$record" ]; then echo "= $record exists" >&2; continue; fi
        rm -rf "$out"
        cmd=(./bin/lowbit.js ptq --checkpoint "results/float/$m.safetensors" --method "$method" --wbits "$bits" --abits "$abits" --granularity "$gran" --calib 2048 --seed 0 --out "$out" --json)
        echo "+ ${cmd[*]}" >&2
        "${cmd[@]}" > "$out.json"
        node experiments/record-result.mjs "$out.json" "$out" "$record" "${cmd[*]}"
      done
    done
  done
  done
done
