#!/usr/bin/env bash
# QAT table (issue 5): ResNet-20 on Fashion-MNIST fine-tuned from results/float/resnet20.safetensors with
# fake-quant weights and activations, first/last layer 8-bit, batch 128, crop(pad 2)+flip, SGD Nesterov
# cosine, wd 5e-4, seed 0; lr 0.01 (the anchor's) unless the entry says otherwise. Each entry trains into runs/qat-<name> and is recorded in
# results/qat/<name>.json (result + exact command + machine + commit). Resumable: rerun after an
# interruption and it continues the unfinished run; finished entries are skipped.
# Usage: bash experiments/qat-table.sh [name ...]   (default: w4a4-lr002 w3a3 w2a2, the best recipe per width;
# the anchor-* entries need bash experiments/float-baselines.sh resnet20-12ep first)
set -euo pipefail
cd "$(dirname "$0")/.."
declare -A recipes=(
  [w4a4]="--wbits 4 --abits 4 --wq sawb --aq pact --epochs 3 --lr 0.01"
  [w3a3]="--wbits 3 --abits 3 --wq sawb --aq pact --epochs 4 --lr 0.01"
  [w2a2]="--wbits 2 --abits 2 --wq sawb --aq pact --epochs 8 --lr 0.01"
  [w4a4-lr002]="--wbits 4 --abits 4 --wq sawb --aq pact --epochs 3 --lr 0.002"
  [w3a3-lr002]="--wbits 3 --abits 3 --wq sawb --aq pact --epochs 4 --lr 0.002"
  [w4a4-lsq]="--wbits 4 --abits 4 --wq lsq --aq lsq --epochs 3 --lr 0.01"
  [w2a2-lsq]="--wbits 2 --abits 2 --wq lsq --aq lsq --epochs 8 --lr 0.01"
  [w2a2-dorefa]="--wbits 2 --abits 2 --wq dorefa --aq pact --epochs 8 --lr 0.01"
  [w2a2-seed1]="--wbits 2 --abits 2 --wq sawb --aq pact --epochs 8 --lr 0.01 --seed 1"
  [w4a4-e6]="--wbits 4 --abits 4 --wq sawb --aq pact --epochs 6 --lr 0.01"
  # The anchor of issue 5, from the 12-epoch float model (bash experiments/float-baselines.sh resnet20-12ep)
  [anchor-w2a2]="--wbits 2 --abits 2 --wq sawb --aq pact --epochs 8 --lr 0.01"
  [anchor-w2a2-seed1]="--wbits 2 --abits 2 --wq sawb --aq pact --epochs 8 --lr 0.01 --seed 1"
)
names=("$@")
[ ${#names[@]} -gt 0 ] || names=(w4a4-lr002 w3a3 w2a2)
mkdir -p results/qat runs
for name in "${names[@]}"; do
  [ -n "${recipes[$name]:-}" ] || { echo "unknown entry $name (known: ${!recipes[*]})"; exit 2; }
  out="runs/qat-$name"
  record="results/qat/$name.json"
  if [ -f "$record" ]; then echo "= $name already recorded in $record" >&2; continue; fi
  resume=()
  [ -f "$out/checkpoints/last.safetensors" ] && resume=(--resume)
  read -r -a args <<< "${recipes[$name]}"
  checkpoint=results/float/resnet20.safetensors
  [[ $name == anchor-* ]] && checkpoint=results/float/resnet20-12ep.safetensors
  cmd=(./bin/lowbit.js qat --checkpoint "$checkpoint" "${args[@]}" --batch-size 128 --out "$out" "${resume[@]}" --json)
  echo "+ ${cmd[*]}" >&2
  "${cmd[@]}" > "$out.result.json"
  node experiments/record-result.mjs "$out.result.json" "$out" "$record" "${cmd[*]}"
done
