#!/usr/bin/env bash
# NCE searches (issue 17): ResNet-20 on Fashion-MNIST, W2A2 SAWB/PACT supernet (first/last 8-bit), budget
# 1.0x the original FLOPs and params, batch 128, one compute thread (faster than two on this shared
# 2-core machine). Each entry searches into runs/nce-search-<name> and is recorded in
# results/nce/search-<name>.json (result + exact command + machine + commit + load average at the end).
# Resumable: rerun after an interruption (or to continue a session's piece) and it resumes the unfinished
# search from its last epoch; finished entries are skipped.
# Usage: bash experiments/nce-search.sh [name ...]   (default: quick)
set -euo pipefail
cd "$(dirname "$0")/.."
declare -A recipes=(
  # Throughput of the search on a small piece (no test evaluation).
  [quick]="--train-subset 2048 --epochs 1 --no-eval"
  # The supernet starts from the float ResNet-20 (results/float/resnet20.safetensors, from
  # experiments/float-baselines.sh): a W2A2 network from scratch stays at chance for the first epochs
  # here (see results/nce/README.md), which would waste a 10-epoch search.
  [r20-w2a2-s0]="--epochs 10 --seed 0 --init results/float/resnet20.safetensors"
  [r20-w2a2-s1]="--epochs 10 --seed 1 --init results/float/resnet20.safetensors"
  [r20-w2a2-s2]="--epochs 10 --seed 2 --init results/float/resnet20.safetensors"
  # The ablation: TAS-style, widths never above the original.
  [r20-w2a2-noexpand-s0]="--epochs 10 --seed 0 --no-expand --init results/float/resnet20.safetensors"
  [r20-w2a2-noexpand-s1]="--epochs 10 --seed 1 --no-expand --init results/float/resnet20.safetensors"
  [r20-w2a2-noexpand-s2]="--epochs 10 --seed 2 --no-expand --init results/float/resnet20.safetensors"
  # TAS's start (supernet from scratch), for reference.
  [r20-w2a2-scratch-s0]="--epochs 10 --seed 0"
)
# The short budget that fits a 3-hour session on 2 cores (results/nce/README.md): 3 epochs over the first
# 30,000 training images (15,000 per half), weight lr 0.01 (the supernet starts from the float network:
# at TAS's 0.1 the W2A2 supernet's weight loss stayed at chance, 2.30, in a 3-epoch probe; at 0.01 it
# fell to 1.78) and arch lr 0.01 (at TAS's 0.001 the width logits move too little in ~350 arch steps for
# any layer to pass the expansion threshold).
SHORT="--epochs 3 --train-subset 30000 --lr 0.01 --arch-lr 0.01 --init results/float/resnet20.safetensors"
for s in 0 1 2; do
  recipes[short-s$s]="$SHORT --seed $s"
  recipes[short-noexpand-s$s]="$SHORT --seed $s --no-expand"
done
names=("$@")
[ ${#names[@]} -gt 0 ] || names=(quick)
mkdir -p results/nce runs
for name in "${names[@]}"; do
  [ -n "${recipes[$name]:-}" ] || { echo "unknown entry $name (known: ${!recipes[*]})"; exit 2; }
  out="runs/nce-search-$name"
  record="results/nce/search-$name.json"
  if [ -f "$record" ]; then echo "= $name already recorded in $record" >&2; continue; fi
  resume=()
  [ -f "$out/checkpoints/search-last.safetensors" ] && resume=(--resume)
  read -r -a args <<< "${recipes[$name]}"
  cmd=(./bin/lowbit.js nce search --model resnet20 --dataset fashion-mnist --wbits 2 --abits 2 --wq sawb --aq pact
       "${args[@]}" --batch-size 128 --threads 1 --out "$out" "${resume[@]}" --json)
  echo "+ ${cmd[*]}" >&2
  "${cmd[@]}" > "$out.result.json"
  node experiments/record-result.mjs "$out.result.json" "$out" "$record" "${cmd[*]}"
  # The machine is shared: the load at the end says what the images/s were measured against.
  node -e 'const fs=require("fs"),os=require("os");const f=process.argv[1];const r=JSON.parse(fs.readFileSync(f,"utf8"));r.loadAverage=os.loadavg();fs.writeFileSync(f+".tmp",JSON.stringify(r,null,2)+"\n");fs.renameSync(f+".tmp",f);' "$record"
done
