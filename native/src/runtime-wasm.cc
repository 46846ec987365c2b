// The WebAssembly face of the runtime: a C ABI over Plan for src/runtime/wasm (the JS loader). Built
// by scripts/setup.sh (clang --target=wasm32-wasi -msimd128): the portable kernels, vectorized
// by clang for 128-bit SIMD.
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "runtime-plan.h"

using lowbit::rt::Plan;

#define EXPORT(name) extern "C" __attribute__((export_name(#name)))

namespace {
std::vector<float> result;
}

EXPORT(lbit_alloc) void* lbitAlloc(size_t bytes) { return std::malloc(bytes); }
EXPORT(lbit_free) void lbitFree(void* p) { std::free(p); }
EXPORT(lbit_last_error) const char* lbitLastError() { return lowbit::rt::lastError.c_str(); }

EXPORT(lbit_plan_create) Plan* lbitPlanCreate() {
  auto* p = new Plan(lowbit::rt::Isa::Portable);
  p->setThreading(1, 0);
  return p;
}
EXPORT(lbit_plan_free) void lbitPlanFree(Plan* p) { delete p; }

EXPORT(lbit_plan_add_buffer) int lbitPlanAddBuffer(Plan* p, int codes, int h, int w, int c, int border) {
  lowbit::rt::BufferSpec b;
  b.codes = codes != 0;
  b.h = h;
  b.w = w;
  b.c = c;
  b.border = border;
  return p->addBuffer(b);
}

// ints: input, residual, outFloat, oc, kh, kw, stride, pad, bits, codeStep, oddOnes, inMax, relu,
// numCodes, codes0, codes1; codeParams: scale, alpha, levels of each code output.
EXPORT(lbit_plan_add_conv)
int lbitPlanAddConv(Plan* p, const int32_t* ints, const float* codeParams, const uint8_t* packed, int packedLen, const float* mul, const float* add,
                    const float* posBias, int posLen) {
  lowbit::rt::ConvSpec s;
  s.in = ints[0];
  s.residual = ints[1];
  s.outFloat = ints[2];
  s.oc = ints[3];
  s.kh = ints[4];
  s.kw = ints[5];
  s.stride = ints[6];
  s.pad = ints[7];
  s.bits = ints[8];
  s.codeStep = ints[9];
  s.oddOnes = ints[10] != 0;
  s.inMax = ints[11];
  s.relu = ints[12] != 0;
  s.numCodes = ints[13];
  for (int q = 0; q < s.numCodes && q < 2; q++) {
    s.outCodes[q] = ints[14 + q];
    s.codeScale[q] = codeParams[3 * q];
    s.codeAlpha[q] = codeParams[3 * q + 1];
    s.codeLevels[q] = codeParams[3 * q + 2];
  }
  s.packed.assign(packed, packed + packedLen);
  s.mul.assign(mul, mul + s.oc);
  s.add.assign(add, add + s.oc);
  if (posLen > 0) s.posBias.assign(posBias, posBias + posLen);
  return p->addConv(std::move(s));
}

EXPORT(lbit_plan_add_pool) int lbitPlanAddPool(Plan* p, int in, int out, float scale, float alpha, float levels) {
  lowbit::rt::PoolQuantSpec s;
  s.in = in;
  s.out = out;
  s.scale = scale;
  s.alpha = alpha;
  s.levels = levels;
  return p->addPoolQuant(s);
}

// Runs n images; the output floats stay valid until the next run (lbit_result_length of them).
EXPORT(lbit_plan_run) const float* lbitPlanRun(Plan* p, const uint8_t* pixels, int n, int inBuf, int outBuf, int chunk) {
  result = p->run(pixels, n, inBuf, outBuf, chunk);
  return result.data();
}
EXPORT(lbit_result_length) int lbitResultLength() { return static_cast<int>(result.size()); }
