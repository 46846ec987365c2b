#!/usr/bin/env bash
# The short-budget NCE comparison (issue 17) in one resumable queue, seed by seed: the NCE and --no-expand
# searches, then the hard-regime retraining of the uniform, NCE and no-expand networks. The hard regime is
# the auxiliary-module table's: every layer at 2 bits (--first-last-bits 2) and a 1-epoch QAT phase.
# Rerun after an interruption: finished entries are skipped, an unfinished one resumes.
set -euo pipefail
cd "$(dirname "$0")/.."
export NCE_HARD_FLAGS="--first-last-bits 2"
for s in 0 1 2; do
  bash experiments/nce-search.sh "short-s$s" "short-noexpand-s$s"
  bash experiments/nce-retrain.sh "short-hard-uniform-s$s" "short-hard-nce-s$s" "short-hard-noexpand-s$s"
done
