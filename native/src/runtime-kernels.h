// Integer convolution kernels of the low-bit runtime: u8 activation codes x s8 weight codes -> int32,
// with the layer's epilogue fused (scale, folded BatchNorm, bias, residual add, ReLU, and the next
// layer's activation quantization). No libtorch here: the same code is meant for WebAssembly.
#pragma once

#include <cstddef>
#include <cstdint>

namespace lowbit {
namespace rt {

// One output of the epilogue as unsigned codes, PACT's rule (Choi et al. 2018, eq. 1-2):
// y = clip(v, 0, alpha); code = round_half_even(clip(y / scale, 0, levels)).
struct CodesOut {
  uint8_t* data = nullptr;  // code buffer of the consumer: [N][H + 2 border][W + 2 border][cp]
  int cp = 0;               // channel stride (channels rounded up to 4)
  int border = 0;           // zero rows/columns around every image
  float scale = 1.f, alpha = 1.f, levels = 1.f;
};

// Everything one convolution needs. Activations are NHWC codes with a zero border of `border`
// pixels (so padding needs no branch) and `cp` channels (a multiple of 4, the padding channels zero).
// Weights: s8, [kh][kw * cp / 4][ocp][4] (see expandWeights), ocp a multiple of 16.
struct ConvArgs {
  const uint8_t* in = nullptr;
  int inH = 0, inW = 0, cp = 0, inBorder = 0;
  int kh = 0, kw = 0, stride = 1, pad = 0;
  int oc = 0, ocp = 0, outH = 0, outW = 0;
  const int8_t* weights = nullptr;
  // 8-bit odd weight codes c = 2m + 1 do not fit in s8: the weights hold m and channel `oc` holds
  // ones, so acc = 2 * acc_m + sum(x) (the receptive field's sum of codes).
  bool oddOnes = false;
  // AVX2 has no u8 x s8 dot product into int32: vpmaddubsw adds two products into a saturating
  // int16 first. False when 2 * max|x| * max|w| > 32767 (8-bit layers); AVX2 then runs the portable code.
  bool pairsFitInt16 = true;
  const float* mul = nullptr;      // [oc]
  const float* add = nullptr;      // [oc]
  const float* posBias = nullptr;  // [outH * outW][oc] or null (the first layer's input normalization)
  const float* residual = nullptr; // [N][outH][outW][oc] float or null
  bool relu = false;
  float* outFloat = nullptr;       // [N][outH][outW][oc] or null
  CodesOut codes[2];
  int numCodes = 0;
};

enum class Isa { Portable = 0, Avx2 = 1, AvxVnni = 2, Avx512Vnni = 3 };

const char* isaName(Isa isa);
// The best the CPU has, or the one LOWBIT_RUNTIME_ISA names (portable, avx2, avxvnni, avx512vnni);
// throws std::runtime_error when that one is not available here.
Isa selectIsa();
bool isaAvailable(Isa isa);

// Rows (output pixels n * outH * outW + oh * outW + ow) [rowBegin, rowEnd) of a batch.
void runConvRows(Isa isa, const ConvArgs& a, int64_t rowBegin, int64_t rowEnd);

// The epilogue of rows [rowBegin, rowEnd) alone, on int32 accumulators computed elsewhere
// (acc[(row - rowBegin) * accStride + o], the ones channel at o = oc when oddOnes): the same float
// operations as runConvRows, so the same bits.
void runEpilogueRows(Isa isa, const ConvArgs& a, const int32_t* acc, int accStride, int64_t rowBegin, int64_t rowEnd);

// Rows handled per call of the micro-kernel on an ISA (what a parallel loop should split on).
int rowsPerTile(Isa isa);

// Multiply-adds per second of independent dot-product instructions on one thread (no memory
// traffic): the roofline's ceiling for this ISA. Runs for about `seconds`.
double peakMacsPerSecond(Isa isa, double seconds);

}  // namespace rt
}  // namespace lowbit
