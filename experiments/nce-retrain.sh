#!/usr/bin/env bash
# Retraining for the NCE comparison (issue 17): the searched widths (nce-*), the --no-expand ablation
# (noexpand-*) and the uniform ResNet-20 (uniform-*), all through `lowbit nce retrain` with the uniform
# baseline's budget: float 30 epochs (lr 0.1) then W2A2 SAWB/PACT QAT 8 epochs (lr 0.01), batch 128, SGD
# Nesterov, cosine, wd 5e-4, seeds 0-2. Standard regime: first/last layer 8-bit. Hard regime (hard-*):
# the extra flags in NCE_HARD_FLAGS (the auxiliary-module issue's choice of a setting where plain W2A2
# loses >= 3 pp; this script does not guess it). The nce-*/noexpand-* entries need the searches of
# experiments/nce-search.sh. Records in results/nce/retrain-<name>.json; resumable like the others.
# Short budget (short-* entries, with the short-* searches): float 4 epochs then QAT 1 epoch, same lr, wd,
# batch and seeds; it exists because the full budget (38 epochs per run, 18 runs) does not fit a session.
# Usage: bash experiments/nce-retrain.sh name ...   e.g. uniform-s0 nce-s0 noexpand-s0 short-hard-nce-s0
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -gt 0 ] || { echo "usage: bash experiments/nce-retrain.sh {uniform,nce,noexpand}-s{0,1,2} | hard-{uniform,nce,noexpand}-s{0,1,2} ..."; exit 2; }
mkdir -p results/nce runs
for name in "$@"; do
  regime=()
  base="$name"
  budget=(--float-epochs 30 --qat-epochs 8)
  searches="runs/nce-search-r20-w2a2"
  if [[ $base == short-* ]]; then
    budget=(--float-epochs 4 --qat-epochs 1)
    searches="runs/nce-search-short"
    base="${base#short-}"
  fi
  if [[ $base == hard-* ]]; then
    [ -n "${NCE_HARD_FLAGS:-}" ] || { echo "$name: set NCE_HARD_FLAGS to the hard regime's flags first"; exit 2; }
    read -r -a regime <<< "$NCE_HARD_FLAGS"
    base="${base#hard-}"
  fi
  [[ $base =~ ^(uniform|nce|noexpand)-s([0-9]+)$ ]] || { echo "unknown entry $name"; exit 2; }
  kind="${BASH_REMATCH[1]}"
  seed="${BASH_REMATCH[2]}"
  case "$kind" in
    uniform) net=(--original) ;;
    nce) net=(--search "$searches-s$seed") ;;
    noexpand) net=(--search "$searches-noexpand-s$seed") ;;
  esac
  out="runs/nce-retrain-$name"
  record="results/nce/retrain-$name.json"
  if [ -f "$record" ]; then echo "= $name already recorded in $record" >&2; continue; fi
  resume=()
  [ -d "$out/float" ] && resume=(--resume)
  cmd=(./bin/lowbit.js nce retrain --model resnet20 "${net[@]}" --dataset fashion-mnist --wbits 2 --abits 2 --wq sawb --aq pact
       "${budget[@]}" --lr 0.1 --qat-lr 0.01 --weight-decay 5e-4 --batch-size 128 --seed "$seed"
       "${regime[@]}" --threads 1 --out "$out" "${resume[@]}" --json)
  echo "+ ${cmd[*]}" >&2
  "${cmd[@]}" > "$out.result.json"
  node experiments/record-result.mjs "$out.result.json" "$out" "$record" "${cmd[*]}"
done
