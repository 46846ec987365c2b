#!/bin/bash
# bench/onednn/run.sh [BITS...]: builds conv-int8 against Debian's libdnnl-dev (2.6.3, apt-get install
# libdnnl-dev) and the runtime's kernels, then runs it on one thread for each bit width (default 2 4).
set -euo pipefail
cd "$(dirname "$0")/../.."
out=${TMPDIR:-/tmp}/lowbit-onednn-conv-int8
g++ -O3 -std=c++17 -fopenmp -ffp-contract=off -o "$out" bench/onednn/conv-int8.cc native/src/runtime-plan.cc native/src/runtime-kernels.cc -ldnnl
bits=("${@:-2}"); [ $# -eq 0 ] && bits=(2 4)
for b in "${bits[@]}"; do OMP_NUM_THREADS=1 DNNL_VERBOSE=0 "$out" "$b"; done
