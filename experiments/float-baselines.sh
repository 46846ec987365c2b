#!/usr/bin/env bash
# Float baselines on Fashion-MNIST (issue 4's accuracy targets). Each model trains into runs/float-<model>
# (resumable: rerun this script after an interruption and it continues), then its result is recorded
# under results/float/<model>.json with the exact command, machine and commit.
# Usage: bash experiments/float-baselines.sh [model ...]   (default: mlp lenet5 resnet20; also resnet20-12ep)
set -euo pipefail
cd "$(dirname "$0")/.."
models=("$@")
[ ${#models[@]} -gt 0 ] || models=(mlp lenet5 resnet20)
mkdir -p results/float
for m in "${models[@]}"; do
  case "$m" in
    mlp)      args=(--model mlp --epochs 20 --lr 0.05 --weight-decay 1e-4 --no-augment) ;;
    lenet5)   args=(--model lenet5 --epochs 20 --lr 0.05 --weight-decay 5e-4 --no-augment) ;;
    resnet20) args=(--model resnet20 --epochs 30 --lr 0.1 --weight-decay 5e-4) ;;
    # Issue 5's anchor recipe (PyTorch 1.13: 93.50% after 12 epochs); the QAT entries anchor-* start from it.
    resnet20-12ep) args=(--model resnet20 --epochs 12 --lr 0.1 --weight-decay 5e-4) ;;
    *) echo "unknown model $m"; exit 2 ;;
  esac
  out="runs/float-$m"
  mkdir -p runs
  resume=()
  [ -f "$out/checkpoints/last.safetensors" ] && resume=(--resume)
  cmd=(./bin/lowbit.js train "${args[@]}" --dataset fashion-mnist --batch-size 128 --seed 0 --out "$out" "${resume[@]}" --json)
  echo "+ ${cmd[*]}" >&2
  "${cmd[@]}" > "$out.result.json"
  node -e '
    const fs = require("fs");
    const [file, outFile, cmd] = process.argv.slice(1);
    const r = JSON.parse(fs.readFileSync(file, "utf8"));
    const cfg = JSON.parse(fs.readFileSync(process.argv[4] + "/config.json", "utf8"));
    const rec = { command: cmd, result: { testAccuracy: r.testAccuracy, bestTestAccuracy: r.bestTestAccuracy, epochs: r.epochs, imagesPerSecond: r.imagesPerSecond, history: r.history }, environment: cfg.environment, options: cfg.options };
    fs.writeFileSync(outFile + ".tmp", JSON.stringify(rec, null, 2) + "\n"); fs.renameSync(outFile + ".tmp", outFile);
  ' "$out.result.json" "results/float/$m.json" "${cmd[*]}" "$out"
  cp "$out/model.safetensors" "results/float/$m.safetensors" 2>/dev/null || true
done
