// An integer execution plan: buffers of activation codes (u8, NHWC, zero border) and floats, and the
// fused steps between them. Built step by step from TypeScript (src/runtime), which owns every choice;
// this file only stores and runs it. No libtorch, no Node: meant to compile to WebAssembly too.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "runtime-kernels.h"

namespace lowbit {
namespace rt {

// Rejects a malformed plan: throws std::invalid_argument (in WebAssembly: keeps the message in
// lastError and traps).
[[noreturn]] void fail(const std::string& what);
#if defined(__wasm__)
extern std::string lastError;
#endif

struct BufferSpec {
  bool codes = true;  // u8 codes with a zero border, else dense float NHWC
  int h = 0, w = 0, c = 0, border = 0;
};

struct ConvSpec {
  int in = -1, residual = -1, outFloat = -1;
  int outCodes[2] = {-1, -1};
  float codeScale[2] = {1.f, 1.f}, codeAlpha[2] = {1.f, 1.f}, codeLevels[2] = {1.f, 1.f};
  int numCodes = 0;
  int oc = 0, kh = 0, kw = 0, stride = 1, pad = 0;
  // Weight codes packed at `bits` (2, 4 or 8) per value, LSB first (ONNX int2/int4 layout), OIHW,
  // signed m; the layer's code is c = codeStep * m + (codeStep == 2 ? 1 : 0).
  std::vector<uint8_t> packed;
  int bits = 8, codeStep = 1;
  bool oddOnes = false;
  int inMax = 255;  // the largest input code (for the AVX2 int16 check)
  std::vector<float> mul, add, posBias;
  bool relu = false;
};

struct PoolQuantSpec {
  int in = -1, out = -1;
  float scale = 1.f, alpha = 1.f, levels = 255.f;
};

// Weights in the kernel's layout [kh][kw * cp / 4][ocp][4] (s8), plus the layout's sizes.
struct ExpandedWeights {
  std::vector<int8_t> data;
  int cp = 0, ocp = 0;
  int maxAbs = 0;
};
ExpandedWeights expandWeights(const ConvSpec& s, int inChannels);

class Plan {
 public:
  explicit Plan(Isa isa) : isa_(isa) {}
  int addBuffer(const BufferSpec& b);
  int addConv(ConvSpec s);
  int addPoolQuant(const PoolQuantSpec& s);
  // pixels: n images of the input buffer's h x w x c bytes (NHWC), run `chunk` images at a time (so
  // a large batch does not stream every layer's activations through memory); returns the output
  // float buffer of all n images. With several threads and more than one chunk, each thread runs
  // whole chunks through the network (one fork-join per run instead of one per conv); otherwise a
  // conv's rows are split over the threads. readCodes/readFloats show the last chunk of one worker:
  // meaningful when n <= chunk.
  std::vector<float> run(const uint8_t* pixels, int64_t n, int inputBuf, int outputBuf, int64_t chunk);
  const BufferSpec& buffer(int id) const { return buffers_.at(static_cast<size_t>(id)).spec; }
  // Interior of a buffer for the last run: codes [N][h][w][c] as bytes, or floats.
  std::vector<uint8_t> readCodes(int id) const;
  std::vector<float> readFloats(int id) const;
  int64_t batch() const { return batch_; }
  // Threads of this plan's parallel loops, and the multiply-adds below which a conv runs on one
  // thread (a fork-join costs more than it saves on small work, and much more on a busy machine).
  void setThreading(int threads, double minParallelMacs) {
    threads_ = threads < 1 ? 1 : threads;
    minParallelMacs_ = minParallelMacs;
  }
  Isa isa() const { return isa_; }
  size_t weightBytes() const;
  // Per step: integer multiply-adds per image (0 for the pool), and the fastest run since the last
  // reset (its seconds and its batch).
  struct StepProfile {
    double macsPerImage;
    double seconds;
    int64_t images;
  };
  std::vector<StepProfile> profile() const;
  void resetProfile();

 private:
  struct Buffer {
    BufferSpec spec;
    int cp = 0;
    int64_t perImage = 0;  // bytes (codes) or floats
  };
  // The memory of one buffer for one worker (image-parallel runs give each thread its own set).
  struct Storage {
    std::vector<uint8_t> codes;
    std::vector<float> floats;
  };
  struct Step {
    int kind = 0;  // 0 conv, 1 pool+quantize
    ConvSpec conv;
    ExpandedWeights w;
    int outH = 0, outW = 0;
    PoolQuantSpec pool;
    double seconds = 0;
    int64_t images = 0;
  };
  void ensure(int64_t n, int workers);
  // One chunk of `batch` images through every step, in worker w's buffers; convs split their rows
  // over `threads` threads.
  void runChunk(const uint8_t* pixels, int64_t batch, int inputBuf, int w, int threads, bool profile);
  void runConv(const Step& s, std::vector<Storage>& mem, int64_t batch, int threads);
  void runPool(const Step& s, std::vector<Storage>& mem, int64_t batch);
  std::vector<Step>& steps() { return steps_; }

  Isa isa_;
  std::vector<Buffer> buffers_;
  std::vector<std::vector<Storage>> work_;  // [worker][buffer]
  std::vector<Step> steps_;
  int64_t capacity_ = 0, batch_ = 0;
  int workers_ = 0;
  int threads_ = 1;
  double minParallelMacs_ = 0;
};

}  // namespace rt
}  // namespace lowbit
