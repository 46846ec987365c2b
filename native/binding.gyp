{
  "targets": [{
    "target_name": "lowbit_native",
    "sources": ["src/addon.cc", "src/fused-quant.cc", "src/clip-search.cc", "src/cpu-allocator.cc"],
    "include_dirs": [
      "<!@(node -p \"require('node-addon-api').include_dir\")",
      "<!@(node libtorch-config.cjs include)"
    ],
    "libraries": ["<!@(node libtorch-config.cjs libs)"],
    "defines": ["NAPI_CPP_EXCEPTIONS", "NAPI_EXPERIMENTAL", "<!@(node libtorch-config.cjs defines)"],
    "cflags!": ["-fno-exceptions"],
    "cflags_cc!": ["-fno-exceptions", "-fno-rtti", "-std=gnu++17", "-std=gnu++20"],
    "cflags_cc": ["-fexceptions", "-frtti", "-std=c++17", "-O3", "-ffp-contract=off", "-Wno-unused-parameter", "-Wno-deprecated-declarations"]
  }, {
    "target_name": "lowbit_runtime",
    "sources": ["src/runtime-addon.cc", "src/runtime-plan.cc", "src/runtime-kernels.cc"],
    "include_dirs": ["<!@(node -p \"require('node-addon-api').include_dir\")"],
    "defines": ["NAPI_CPP_EXCEPTIONS"],
    "cflags!": ["-fno-exceptions"],
    "cflags_cc!": ["-fno-exceptions", "-fno-rtti", "-std=gnu++17", "-std=gnu++20"],
    "cflags_cc": ["-fexceptions", "-std=c++17", "-O3", "-fopenmp", "-ffp-contract=off", "-Wno-unused-parameter"],
    "ldflags": ["-fopenmp"]
  }]
}
