#!/usr/bin/env bash
# Installs what a fresh Debian machine lacks to build and run lowbit, then builds the native addon.
# Idempotent and quiet when everything is there. LIBTORCH_DIR=<libtorch dir> skips Debian's libtorch.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
have_pkg() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }

if [ -z "${LIBTORCH_DIR:-}" ]; then
  have_pkg libtorch-dev || need+=(libtorch-dev)
fi
# Debian's libtorch calls the generic libblas.so.3: without OpenBLAS a float32 matmul runs ~30x slower.
have_pkg libopenblas0-openmp || need+=(libopenblas0-openmp)
have_pkg dataset-fashion-mnist || need+=(dataset-fashion-mnist)
command -v g++ >/dev/null || need+=(g++)
command -v make >/dev/null || need+=(make)
command -v python3 >/dev/null || need+=(python3)
# The report test renders the HTML report in headless Chromium (with a font, so the text shows).
command -v chromium >/dev/null || need+=(chromium)
have_pkg fonts-dejavu-core || need+=(fonts-dejavu-core)
# The integer runtime in WebAssembly (128-bit SIMD): clang's wasm32-wasi target, its linker, libc and libc++.
command -v clang++ >/dev/null || need+=(clang)
command -v wasm-ld >/dev/null || need+=(lld)
have_pkg wasi-libc || need+=(wasi-libc)
have_pkg libc++-dev-wasm32 || need+=(libc++-dev-wasm32)
have_pkg libclang-rt-dev-wasm32 || need+=(libclang-rt-dev-wasm32)

if [ ${#need[@]} -gt 0 ]; then
  echo "setup: installing ${need[*]}"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

# OpenBLAS must own the libblas.so.3 alternative (installing it normally takes it over).
if command -v update-alternatives >/dev/null; then
  current=$(update-alternatives --query libblas.so.3-x86_64-linux-gnu 2>/dev/null | awk '/^Value:/{print $2}')
  case "$current" in
    *openblas*|"") ;;
    *)
      alt=$(update-alternatives --list libblas.so.3-x86_64-linux-gnu 2>/dev/null | grep openblas | head -1)
      if [ -n "$alt" ]; then
        echo "setup: switching libblas.so.3 from $current to $alt"
        ${SUDO:-} update-alternatives --set libblas.so.3-x86_64-linux-gnu "$alt" >/dev/null
      fi
      ;;
  esac
fi

if [ ! -d node_modules ] || [ ! -f native/build/Release/lowbit_native.node ]; then
  echo "setup: installing npm packages and building the native addon"
  ONNXRUNTIME_NODE_INSTALL=skip npm ci --no-audit --no-fund --loglevel=error
fi

# The runtime's own addon (lowbit_runtime.node, no libtorch) is a second binding.gyp target: a checkout
# built before it existed gets it here.
if [ ! -f native/build/Release/lowbit_runtime.node ]; then
  echo "setup: building the runtime addon"
  npm run build:native --silent
fi

# The same runtime compiled to WebAssembly with 128-bit SIMD (src/runtime/wasm.ts loads it).
wasm=native/build/wasm/lowbit_runtime.wasm
wasm_src=(native/src/runtime-wasm.cc native/src/runtime-plan.cc native/src/runtime-kernels.cc)
if [ ! -f "$wasm" ] || [ -n "$(find "${wasm_src[@]}" native/src/runtime-plan.h native/src/runtime-kernels.h native/src/runtime-kernel-body.inc -newer "$wasm" 2>/dev/null)" ]; then
  echo "setup: building $wasm"
  mkdir -p "$(dirname "$wasm")"
  clang++ --target=wasm32-wasi -O3 -msimd128 -std=c++17 -fno-exceptions -ffp-contract=off -mexec-model=reactor \
    -Wl,--no-entry -Wl,--strip-all -o "$wasm" "${wasm_src[@]}"
fi
