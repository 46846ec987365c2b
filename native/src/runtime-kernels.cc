// Dispatch of the runtime's integer kernels: runtime-kernel-body.inc compiled for AVX-512 VNNI,
// AVX-VNNI, AVX2 and portable C++, picked once at load from what the CPU reports (like the
// multiversioned loops of fused-quant.cc, but with intrinsics, so by hand).
#include "runtime-kernels.h"

#include <algorithm>
#include <cmath>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define LOWBIT_RT_X86 1
#include <immintrin.h>
#endif
#if defined(__wasm_simd128__)
#include <wasm_simd128.h>
#endif

namespace lowbit {
namespace rt {

// A 32-bit load from any address, through a type that may alias anything.
typedef int32_t UnalignedI32 __attribute__((aligned(1), may_alias));

#if defined(__wasm_simd128__)
namespace portable {
// WebAssembly 128-bit SIMD has no u8 x s8 dot product into int32; i32x4.dot_i16x8_s (two int16
// products added, exact: |a w| <= 255 * 128) on the widened codes is the closest. V holds, for 16
// output channels, eight i32x4 of pair sums (lanes: channel 2i's two pairs, channel 2i+1's two
// pairs); vstore adds the pairs. A broadcast input word is kept as i16x8 (a0 a1 a2 a3 a0 a1 a2 a3),
// a weight vector as its four raw 16-byte chunks.
struct V {
  v128_t p[8];
};
constexpr int kLanes = 16;
constexpr int kMaxBlocks = 1;
constexpr int kRows = 2;
constexpr int kRowsOneBlock = 2;
#define LOWBIT_RT_MAX_BLOCKS 1
inline V vzero() {
  V v;
  for (int i = 0; i < 8; i++) v.p[i] = wasm_i32x4_splat(0);
  return v;
}
inline V vload(const int8_t* p) {
  V v;
  for (int j = 0; j < 4; j++) v.p[j] = wasm_v128_load(p + 16 * j);
  return v;
}
inline V vset1(int32_t x) {
  V v;
  v.p[0] = wasm_u16x8_extend_low_u8x16(wasm_i32x4_splat(x));
  return v;
}
inline V vdot(V acc, V a, V b) {
  for (int j = 0; j < 4; j++) {
    acc.p[2 * j] = wasm_i32x4_add(acc.p[2 * j], wasm_i32x4_dot_i16x8(wasm_i16x8_extend_low_i8x16(b.p[j]), a.p[0]));
    acc.p[2 * j + 1] = wasm_i32x4_add(acc.p[2 * j + 1], wasm_i32x4_dot_i16x8(wasm_i16x8_extend_high_i8x16(b.p[j]), a.p[0]));
  }
  return acc;
}
inline void vstore(int32_t* p, V v) {
  for (int j = 0; j < 4; j++) {
    const v128_t even = wasm_i32x4_shuffle(v.p[2 * j], v.p[2 * j + 1], 0, 2, 4, 6);
    const v128_t odd = wasm_i32x4_shuffle(v.p[2 * j], v.p[2 * j + 1], 1, 3, 5, 7);
    wasm_v128_store(p + 4 * j, wasm_i32x4_add(even, odd));
  }
}
#include "runtime-kernel-body.inc"
// The peak: 12 independent accumulator chains (more than latency x throughput), no loads. Named
// variables, not an array: GCC turned an array version into a loop over memory, one chain at a time.
double peakLoop(int64_t iters) {
  V c0 = vset1(0), c1 = vset1(1), c2 = vset1(2), c3 = vset1(3), c4 = vset1(4), c5 = vset1(5);
  V c6 = vset1(6), c7 = vset1(7), c8 = vset1(8), c9 = vset1(9), c10 = vset1(10), c11 = vset1(11);
  const V a = vset1(0x01020304), b = vset1(0x05060708);
  for (int64_t it = 0; it < iters; it++) {
    c0 = vdot(c0, a, b); c1 = vdot(c1, a, b); c2 = vdot(c2, a, b); c3 = vdot(c3, a, b);
    c4 = vdot(c4, a, b); c5 = vdot(c5, a, b); c6 = vdot(c6, a, b); c7 = vdot(c7, a, b);
    c8 = vdot(c8, a, b); c9 = vdot(c9, a, b); c10 = vdot(c10, a, b); c11 = vdot(c11, a, b);
  }
  int32_t sink[kLanes * 12];
  const V all[12] = {c0, c1, c2, c3, c4, c5, c6, c7, c8, c9, c10, c11};
  for (int i = 0; i < 12; i++) vstore(sink + i * kLanes, all[i]);
  double s = 0;
  for (int i = 0; i < kLanes * 12; i++) s += sink[i];
  return s;
}

#undef LOWBIT_RT_MAX_BLOCKS
}  // namespace portable
#else
namespace portable {
// 16 int32 lanes as plain arrays: the compiler vectorizes what it can for baseline x86-64 (or wasm).
struct V {
  int32_t l[16];
};
constexpr int kLanes = 16;
constexpr int kMaxBlocks = 1;
constexpr int kRows = 4;
constexpr int kRowsOneBlock = 4;
#define LOWBIT_RT_MAX_BLOCKS 1
inline V vzero() { V v; for (int i = 0; i < 16; i++) v.l[i] = 0; return v; }
inline V vload(const int8_t* p) { V v; std::memcpy(v.l, p, 64); return v; }
inline V vset1(int32_t x) { V v; for (int i = 0; i < 16; i++) v.l[i] = x; return v; }
inline V vdot(V acc, V a, V b) {
  uint8_t ab[4];
  std::memcpy(ab, &a.l[0], 4);
  for (int i = 0; i < 16; i++) {
    int8_t wb[4];
    std::memcpy(wb, &b.l[i], 4);
    acc.l[i] += ab[0] * wb[0] + ab[1] * wb[1] + ab[2] * wb[2] + ab[3] * wb[3];
  }
  return acc;
}
inline void vstore(int32_t* p, V v) { std::memcpy(p, v.l, 64); }
#include "runtime-kernel-body.inc"
// The peak: 12 independent accumulator chains (more than latency x throughput), no loads. Named
// variables, not an array: GCC turned an array version into a loop over memory, one chain at a time.
double peakLoop(int64_t iters) {
  V c0 = vset1(0), c1 = vset1(1), c2 = vset1(2), c3 = vset1(3), c4 = vset1(4), c5 = vset1(5);
  V c6 = vset1(6), c7 = vset1(7), c8 = vset1(8), c9 = vset1(9), c10 = vset1(10), c11 = vset1(11);
  const V a = vset1(0x01020304), b = vset1(0x05060708);
  for (int64_t it = 0; it < iters; it++) {
    c0 = vdot(c0, a, b); c1 = vdot(c1, a, b); c2 = vdot(c2, a, b); c3 = vdot(c3, a, b);
    c4 = vdot(c4, a, b); c5 = vdot(c5, a, b); c6 = vdot(c6, a, b); c7 = vdot(c7, a, b);
    c8 = vdot(c8, a, b); c9 = vdot(c9, a, b); c10 = vdot(c10, a, b); c11 = vdot(c11, a, b);
  }
  int32_t sink[kLanes * 12];
  const V all[12] = {c0, c1, c2, c3, c4, c5, c6, c7, c8, c9, c10, c11};
  for (int i = 0; i < 12; i++) vstore(sink + i * kLanes, all[i]);
  double s = 0;
  for (int i = 0; i < kLanes * 12; i++) s += sink[i];
  return s;
}

#undef LOWBIT_RT_MAX_BLOCKS
}  // namespace portable
#endif

#ifdef LOWBIT_RT_X86
#pragma GCC push_options
#pragma GCC target("avx2,fma")
namespace avx2 {
using V = __m256i;
constexpr int kLanes = 8;
constexpr int kMaxBlocks = 2;
constexpr int kRows = 4;
constexpr int kRowsOneBlock = 8;
#define LOWBIT_RT_MAX_BLOCKS 2
inline V vzero() { return _mm256_setzero_si256(); }
inline V vload(const int8_t* p) { return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)); }
inline V vset1(int32_t x) { return _mm256_set1_epi32(x); }
// u8 x s8 pairs into saturating int16 (vpmaddubsw), then pairs of those into int32 (vpmaddwd by 1):
// exact when the int16 sums cannot saturate (ConvArgs::pairsFitInt16).
inline V vdot(V acc, V a, V b) { return _mm256_add_epi32(acc, _mm256_madd_epi16(_mm256_maddubs_epi16(a, b), _mm256_set1_epi16(1))); }
inline void vstore(int32_t* p, V v) { _mm256_storeu_si256(reinterpret_cast<__m256i*>(p), v); }
#include "runtime-kernel-body.inc"
// The peak: 12 independent accumulator chains (more than latency x throughput), no loads. Named
// variables, not an array: GCC turned an array version into a loop over memory, one chain at a time.
double peakLoop(int64_t iters) {
  V c0 = vset1(0), c1 = vset1(1), c2 = vset1(2), c3 = vset1(3), c4 = vset1(4), c5 = vset1(5);
  V c6 = vset1(6), c7 = vset1(7), c8 = vset1(8), c9 = vset1(9), c10 = vset1(10), c11 = vset1(11);
  const V a = vset1(0x01020304), b = vset1(0x05060708);
  for (int64_t it = 0; it < iters; it++) {
    c0 = vdot(c0, a, b); c1 = vdot(c1, a, b); c2 = vdot(c2, a, b); c3 = vdot(c3, a, b);
    c4 = vdot(c4, a, b); c5 = vdot(c5, a, b); c6 = vdot(c6, a, b); c7 = vdot(c7, a, b);
    c8 = vdot(c8, a, b); c9 = vdot(c9, a, b); c10 = vdot(c10, a, b); c11 = vdot(c11, a, b);
  }
  int32_t sink[kLanes * 12];
  const V all[12] = {c0, c1, c2, c3, c4, c5, c6, c7, c8, c9, c10, c11};
  for (int i = 0; i < 12; i++) vstore(sink + i * kLanes, all[i]);
  double s = 0;
  for (int i = 0; i < kLanes * 12; i++) s += sink[i];
  return s;
}

#undef LOWBIT_RT_MAX_BLOCKS
}  // namespace avx2
#pragma GCC pop_options

#pragma GCC push_options
#pragma GCC target("avx2,fma,avxvnni")
namespace avxvnni {
using V = __m256i;
constexpr int kLanes = 8;
constexpr int kMaxBlocks = 2;
constexpr int kRows = 6;
constexpr int kRowsOneBlock = 12;
#define LOWBIT_RT_MAX_BLOCKS 2
inline V vzero() { return _mm256_setzero_si256(); }
inline V vload(const int8_t* p) { return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)); }
inline V vset1(int32_t x) { return _mm256_set1_epi32(x); }
inline V vdot(V acc, V a, V b) { return _mm256_dpbusd_avx_epi32(acc, a, b); }
inline void vstore(int32_t* p, V v) { _mm256_storeu_si256(reinterpret_cast<__m256i*>(p), v); }
#include "runtime-kernel-body.inc"
// The peak: 12 independent accumulator chains (more than latency x throughput), no loads. Named
// variables, not an array: GCC turned an array version into a loop over memory, one chain at a time.
double peakLoop(int64_t iters) {
  V c0 = vset1(0), c1 = vset1(1), c2 = vset1(2), c3 = vset1(3), c4 = vset1(4), c5 = vset1(5);
  V c6 = vset1(6), c7 = vset1(7), c8 = vset1(8), c9 = vset1(9), c10 = vset1(10), c11 = vset1(11);
  const V a = vset1(0x01020304), b = vset1(0x05060708);
  for (int64_t it = 0; it < iters; it++) {
    c0 = vdot(c0, a, b); c1 = vdot(c1, a, b); c2 = vdot(c2, a, b); c3 = vdot(c3, a, b);
    c4 = vdot(c4, a, b); c5 = vdot(c5, a, b); c6 = vdot(c6, a, b); c7 = vdot(c7, a, b);
    c8 = vdot(c8, a, b); c9 = vdot(c9, a, b); c10 = vdot(c10, a, b); c11 = vdot(c11, a, b);
  }
  int32_t sink[kLanes * 12];
  const V all[12] = {c0, c1, c2, c3, c4, c5, c6, c7, c8, c9, c10, c11};
  for (int i = 0; i < 12; i++) vstore(sink + i * kLanes, all[i]);
  double s = 0;
  for (int i = 0; i < kLanes * 12; i++) s += sink[i];
  return s;
}

#undef LOWBIT_RT_MAX_BLOCKS
}  // namespace avxvnni
#pragma GCC pop_options

#pragma GCC push_options
#pragma GCC target("avx512f,avx512bw,avx512vl,avx512vnni,fma")
namespace avx512vnni {
using V = __m512i;
constexpr int kLanes = 16;
constexpr int kMaxBlocks = 4;
constexpr int kRows = 6;
constexpr int kRowsOneBlock = 12;
#define LOWBIT_RT_MAX_BLOCKS 4
inline V vzero() { return _mm512_setzero_si512(); }
inline V vload(const int8_t* p) { return _mm512_loadu_si512(p); }
inline V vset1(int32_t x) { return _mm512_set1_epi32(x); }
inline V vdot(V acc, V a, V b) { return _mm512_dpbusd_epi32(acc, a, b); }
inline void vstore(int32_t* p, V v) { _mm512_storeu_si512(p, v); }
#include "runtime-kernel-body.inc"
// The peak: 12 independent accumulator chains (more than latency x throughput), no loads. Named
// variables, not an array: GCC turned an array version into a loop over memory, one chain at a time.
double peakLoop(int64_t iters) {
  V c0 = vset1(0), c1 = vset1(1), c2 = vset1(2), c3 = vset1(3), c4 = vset1(4), c5 = vset1(5);
  V c6 = vset1(6), c7 = vset1(7), c8 = vset1(8), c9 = vset1(9), c10 = vset1(10), c11 = vset1(11);
  const V a = vset1(0x01020304), b = vset1(0x05060708);
  for (int64_t it = 0; it < iters; it++) {
    c0 = vdot(c0, a, b); c1 = vdot(c1, a, b); c2 = vdot(c2, a, b); c3 = vdot(c3, a, b);
    c4 = vdot(c4, a, b); c5 = vdot(c5, a, b); c6 = vdot(c6, a, b); c7 = vdot(c7, a, b);
    c8 = vdot(c8, a, b); c9 = vdot(c9, a, b); c10 = vdot(c10, a, b); c11 = vdot(c11, a, b);
  }
  int32_t sink[kLanes * 12];
  const V all[12] = {c0, c1, c2, c3, c4, c5, c6, c7, c8, c9, c10, c11};
  for (int i = 0; i < 12; i++) vstore(sink + i * kLanes, all[i]);
  double s = 0;
  for (int i = 0; i < kLanes * 12; i++) s += sink[i];
  return s;
}

#undef LOWBIT_RT_MAX_BLOCKS
}  // namespace avx512vnni
#pragma GCC pop_options
#endif

const char* isaName(Isa isa) {
  switch (isa) {
    case Isa::Portable: return "portable";
    case Isa::Avx2: return "avx2";
    case Isa::AvxVnni: return "avxvnni";
    case Isa::Avx512Vnni: return "avx512vnni";
  }
  return "?";
}

bool isaAvailable(Isa isa) {
#ifdef LOWBIT_RT_X86
  __builtin_cpu_init();
  switch (isa) {
    case Isa::Portable: return true;
    case Isa::Avx2: return __builtin_cpu_supports("avx2");
    case Isa::AvxVnni: return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("avxvnni");
    case Isa::Avx512Vnni:
      return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl") &&
             __builtin_cpu_supports("avx512vnni");
  }
  return false;
#else
  return isa == Isa::Portable;
#endif
}

Isa selectIsa() {
#if defined(__wasm__)
  return Isa::Portable;
#else
  const char* forced = std::getenv("LOWBIT_RUNTIME_ISA");
  if (forced != nullptr && *forced != '\0') {
    for (Isa isa : {Isa::Portable, Isa::Avx2, Isa::AvxVnni, Isa::Avx512Vnni}) {
      if (std::string(forced) == isaName(isa)) {
        if (!isaAvailable(isa)) throw std::runtime_error(std::string("LOWBIT_RUNTIME_ISA=") + forced + ": this CPU lacks that instruction set; choose portable, avx2, avxvnni or avx512vnni among those it has, or unset it");
        return isa;
      }
    }
    throw std::runtime_error(std::string("LOWBIT_RUNTIME_ISA=") + forced + " is not an instruction set of the runtime; choose portable, avx2, avxvnni or avx512vnni, or unset it");
  }
  for (Isa isa : {Isa::Avx512Vnni, Isa::AvxVnni, Isa::Avx2})
    if (isaAvailable(isa)) return isa;
  return Isa::Portable;
#endif
}

int rowsPerTile(Isa isa) {
  switch (isa) {
#ifdef LOWBIT_RT_X86
    case Isa::Avx512Vnni: return avx512vnni::kRows;
    case Isa::AvxVnni: return avxvnni::kRows;
    case Isa::Avx2: return avx2::kRows;
#endif
    default: return portable::kRows;
  }
}

double peakMacsPerSecond(Isa isa, double seconds) {
  using clock = std::chrono::steady_clock;
  int lanes = portable::kLanes;
  double (*loop)(int64_t) = portable::peakLoop;
#ifdef LOWBIT_RT_X86
  if (isa == Isa::Avx512Vnni) { lanes = avx512vnni::kLanes; loop = avx512vnni::peakLoop; }
  if (isa == Isa::AvxVnni) { lanes = avxvnni::kLanes; loop = avxvnni::peakLoop; }
  if (isa == Isa::Avx2) { lanes = avx2::kLanes; loop = avx2::peakLoop; }
#endif
  int64_t iters = 1000;
  for (;;) {
    const auto t0 = clock::now();
    volatile double sink = loop(iters);
    (void)sink;
    const double dt = std::chrono::duration<double>(clock::now() - t0).count();
    if (dt >= seconds || iters > (int64_t(1) << 40)) return static_cast<double>(iters) * 12 * lanes * 4 / dt;
    iters *= 2;
  }
}

void runEpilogueRows(Isa isa, const ConvArgs& a, const int32_t* acc, int accStride, int64_t rowBegin, int64_t rowEnd) {
  switch (isa) {
#ifdef LOWBIT_RT_X86
    case Isa::Avx512Vnni: avx512vnni::epilogueRows(a, acc, accStride, rowBegin, rowEnd); return;
    case Isa::AvxVnni: avxvnni::epilogueRows(a, acc, accStride, rowBegin, rowEnd); return;
    case Isa::Avx2: avx2::epilogueRows(a, acc, accStride, rowBegin, rowEnd); return;
#endif
    default: portable::epilogueRows(a, acc, accStride, rowBegin, rowEnd); return;
  }
}

void runConvRows(Isa isa, const ConvArgs& a, int64_t rowBegin, int64_t rowEnd) {
  switch (isa) {
#ifdef LOWBIT_RT_X86
    case Isa::Avx512Vnni: avx512vnni::runRows(a, rowBegin, rowEnd); return;
    case Isa::AvxVnni: avxvnni::runRows(a, rowBegin, rowEnd); return;
    case Isa::Avx2:
      if (a.pairsFitInt16) {
        avx2::runRows(a, rowBegin, rowEnd);
        return;
      }
      break;
#endif
    default: break;
  }
  portable::runRows(a, rowBegin, rowEnd);
}

}  // namespace rt
}  // namespace lowbit
