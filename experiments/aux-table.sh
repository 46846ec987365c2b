#!/usr/bin/env bash
# Auxiliary-module QAT table (issue 16): ResNet-20 on Fashion-MNIST fine-tuned from
# results/float/resnet20.safetensors at true 2-bit SAWB weights / PACT activations, plain against
# --aux (Zhuang et al.'s full-precision auxiliary module), same quantizers, epochs, lr and seeds.
# Regimes:
#   std   first and last layer at 8 bits, 8 epochs (lowbit's W2A2 recipe: plain loses ~1.2 pp)
#   hard  every layer at 2 bits (--first-last-bits 2) and a 1-epoch fine-tune (plain loses >= 3 pp: 91.24% against 94.80% float in a probe, seed 0)
# Entries: <regime>-<arm>-s<seed>, arm = plain | aux (one stage: a fresh module at the fine-tune) |
# aux2 (two stages: float network + module for 1 epoch first) ; w3 entries are W3A3; auxb03: beta = 0.3;
# hard2 / hard4: the hard regime with a 2- / 4-epoch fine-tune.
# Each entry trains into runs/aux-<name> and is recorded in results/aux/<name>.json (result + exact
# command + machine + commit). Resumable: rerun after an interruption and it continues the unfinished
# run; recorded entries are skipped.
# Usage: bash experiments/aux-table.sh [name ...]   (default: the hard regime, then the standard one)
set -euo pipefail
cd "$(dirname "$0")/.."
STD="--wbits 2 --abits 2 --wq sawb --aq pact --epochs 8 --lr 0.01"
HARD="--wbits 2 --abits 2 --wq sawb --aq pact --first-last-bits 2 --epochs 1 --lr 0.01"
HARD2="--wbits 2 --abits 2 --wq sawb --aq pact --first-last-bits 2 --epochs 2 --lr 0.01"
HARD4="--wbits 2 --abits 2 --wq sawb --aq pact --first-last-bits 2 --epochs 4 --lr 0.01"
HARD3="--wbits 3 --abits 3 --wq sawb --aq pact --first-last-bits 3 --epochs 1 --lr 0.01"
declare -A recipes=()
for s in 0 1 2; do
  recipes[std-plain-s$s]="$STD --seed $s"
  recipes[std-aux-s$s]="$STD --seed $s --aux"
  recipes[hard-plain-s$s]="$HARD --seed $s"
  recipes[hard-aux-s$s]="$HARD --seed $s --aux"
  recipes[hard-aux2-s$s]="$HARD --seed $s --aux --aux-stages 2 --aux-stage1-epochs 1"
  recipes[hard-w3-plain-s$s]="$HARD3 --seed $s"
  recipes[hard-w3-aux-s$s]="$HARD3 --seed $s --aux"
  # Why the hard regime missed: a lighter auxiliary loss (beta 0.3), and a 2-epoch fine-tune.
  recipes[hard-auxb03-s$s]="$HARD --seed $s --aux --aux-weight 0.3"
  recipes[hard2-plain-s$s]="$HARD2 --seed $s"
  recipes[hard2-aux-s$s]="$HARD2 --seed $s --aux"
  recipes[hard4-plain-s$s]="$HARD4 --seed $s"
  recipes[hard4-aux-s$s]="$HARD4 --seed $s --aux"
done
names=("$@")
if [ ${#names[@]} -eq 0 ]; then
  for arm in plain aux; do for s in 0 1 2; do names+=("hard-$arm-s$s"); done; done
  for s in 0 1 2; do names+=("hard-aux2-s$s"); done
  for arm in plain aux; do for s in 0 1 2; do names+=("std-$arm-s$s"); done; done
  for arm in plain aux; do for s in 0 1 2; do names+=("hard-w3-$arm-s$s"); done; done
fi
mkdir -p results/aux runs
for name in "${names[@]}"; do
  [ -n "${recipes[$name]:-}" ] || { echo "unknown entry $name (known: ${!recipes[*]})"; exit 2; }
  out="runs/aux-$name"
  record="results/aux/$name.json"
  if [ -f "$record" ]; then echo "= $name already recorded in $record" >&2; continue; fi
  resume=()
  [ -d "$out/checkpoints" ] && resume=(--resume)
  read -r -a args <<< "${recipes[$name]}"
  cmd=(./bin/lowbit.js qat --checkpoint results/float/resnet20.safetensors "${args[@]}" --batch-size 128 --out "$out" "${resume[@]}" --json)
  echo "+ ${cmd[*]}" >&2
  "${cmd[@]}" > "$out.result.json"
  node experiments/record-result.mjs "$out.result.json" "$out" "$record" "${cmd[*]}"
done
