#include "runtime-plan.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <stdexcept>
#include <string>

#ifdef _OPENMP
#include <omp.h>
#endif

namespace lowbit {
namespace rt {

namespace {

int roundUp(int x, int m) { return (x + m - 1) / m * m; }

}  // namespace

#if defined(__wasm__)
// WebAssembly is built without exceptions: the message is kept for the JS loader, then the call traps.
std::string lastError;
[[noreturn]] void fail(const std::string& what) {
  lastError = what;
  __builtin_trap();
}
#else
[[noreturn]] void fail(const std::string& what) { throw std::invalid_argument(what); }
#endif

namespace {

// Signed `bits`-bit field i of an LSB-first packed array.
int unpackSigned(const std::vector<uint8_t>& p, int64_t i, int bits) {
  if (bits == 8) return static_cast<int8_t>(p[static_cast<size_t>(i)]);
  const int perByte = 8 / bits;
  const int field = (p[static_cast<size_t>(i / perByte)] >> ((i % perByte) * bits)) & ((1 << bits) - 1);
  return field >= (1 << (bits - 1)) ? field - (1 << bits) : field;
}

}  // namespace

ExpandedWeights expandWeights(const ConvSpec& s, int inChannels) {
  if (s.bits != 2 && s.bits != 4 && s.bits != 8) fail("weights: packed width must be 2, 4 or 8 bits, got " + std::to_string(s.bits));
  if (s.codeStep != 1 && s.codeStep != 2) fail("weights: codeStep must be 1 or 2");
  const int64_t count = static_cast<int64_t>(s.oc) * inChannels * s.kh * s.kw;
  const int64_t need = (count * s.bits + 7) / 8;
  if (static_cast<int64_t>(s.packed.size()) != need) {
    fail("weights: " + std::to_string(s.packed.size()) + " packed bytes for " + std::to_string(count) + " " + std::to_string(s.bits) +
         "-bit codes (expected " + std::to_string(need) + "); the packed data is truncated or belongs to another layer");
  }
  ExpandedWeights e;
  e.cp = roundUp(inChannels, 4);
  e.ocp = roundUp(s.oc + (s.oddOnes ? 1 : 0), 16);
  const int k4n = s.kw * e.cp / 4;
  e.data.assign(static_cast<size_t>(s.kh) * k4n * e.ocp * 4, 0);
  auto at = [&](int kh, int kw, int c, int o) -> int8_t& {
    const int k = kw * e.cp + c;
    return e.data[((static_cast<size_t>(kh) * k4n + k / 4) * e.ocp + o) * 4 + k % 4];
  };
  for (int o = 0; o < s.oc; o++)
    for (int c = 0; c < inChannels; c++)
      for (int kh = 0; kh < s.kh; kh++)
        for (int kw = 0; kw < s.kw; kw++) {
          const int64_t i = ((static_cast<int64_t>(o) * inChannels + c) * s.kh + kh) * s.kw + kw;
          const int m = unpackSigned(s.packed, i, s.bits);
          const int w = s.oddOnes ? m : s.codeStep * m + (s.codeStep == 2 ? 1 : 0);
          if (w < -128 || w > 127) fail("weights: code " + std::to_string(w) + " does not fit in int8; use oddOnes for 8-bit odd grids");
          e.maxAbs = std::max(e.maxAbs, std::abs(w));
          at(kh, kw, c, o) = static_cast<int8_t>(w);
        }
  if (s.oddOnes)
    for (int c = 0; c < inChannels; c++)
      for (int kh = 0; kh < s.kh; kh++)
        for (int kw = 0; kw < s.kw; kw++) at(kh, kw, c, s.oc) = 1;
  return e;
}

int Plan::addBuffer(const BufferSpec& b) {
  if (b.h < 1 || b.w < 1 || b.c < 1 || b.border < 0) fail("buffer: sizes must be positive");
  Buffer buf;
  buf.spec = b;
  buf.cp = b.codes ? roundUp(b.c, 4) : b.c;
  buf.perImage = b.codes ? static_cast<int64_t>(b.h + 2 * b.border) * (b.w + 2 * b.border) * buf.cp : static_cast<int64_t>(b.h) * b.w * b.c;
  buffers_.push_back(std::move(buf));
  capacity_ = 0;
  workers_ = 0;
  return static_cast<int>(buffers_.size()) - 1;
}

int Plan::addConv(ConvSpec s) {
  auto buf = [&](int id, const char* what) -> const Buffer& {
    if (id < 0 || id >= static_cast<int>(buffers_.size())) fail(std::string("conv: ") + what + " buffer " + std::to_string(id) + " does not exist");
    return buffers_[static_cast<size_t>(id)];
  };
  const Buffer& in = buf(s.in, "input");
  if (!in.spec.codes) fail("conv: the input buffer must hold codes");
  if (in.spec.border < s.pad) fail("conv: the input buffer's border is smaller than the padding");
  if (s.kh < 1 || s.kw < 1 || s.stride < 1 || s.oc < 1) fail("conv: kernel, stride and channels must be positive");
  Step st;
  st.outH = (in.spec.h + 2 * s.pad - s.kh) / s.stride + 1;
  st.outW = (in.spec.w + 2 * s.pad - s.kw) / s.stride + 1;
  auto checkOut = [&](int id, const char* what, bool codes) {
    const Buffer& b = buf(id, what);
    if (b.spec.codes != codes || b.spec.h != st.outH || b.spec.w != st.outW || b.spec.c != s.oc) {
      fail(std::string("conv: ") + what + " buffer " + std::to_string(id) + " has the wrong kind or shape for this layer's " + std::to_string(st.outH) + "x" +
           std::to_string(st.outW) + "x" + std::to_string(s.oc) + " output");
    }
  };
  if (s.residual >= 0) checkOut(s.residual, "residual", false);
  if (s.outFloat >= 0) checkOut(s.outFloat, "float output", false);
  for (int q = 0; q < s.numCodes; q++) checkOut(s.outCodes[q], "codes output", true);
  if (static_cast<int>(s.mul.size()) != s.oc || static_cast<int>(s.add.size()) != s.oc) fail("conv: mul and add need one value per output channel");
  if (!s.posBias.empty() && static_cast<int64_t>(s.posBias.size()) != static_cast<int64_t>(st.outH) * st.outW * s.oc) fail("conv: posBias needs outH * outW * oc values");
  st.w = expandWeights(s, in.spec.c);
  if (st.w.cp != in.cp) fail("conv: channel padding mismatch");
  st.kind = 0;
  st.conv = std::move(s);
  st.conv.packed.clear();
  st.conv.packed.shrink_to_fit();
  steps_.push_back(std::move(st));
  return static_cast<int>(steps_.size()) - 1;
}

int Plan::addPoolQuant(const PoolQuantSpec& s) {
  if (s.in < 0 || s.in >= static_cast<int>(buffers_.size()) || s.out < 0 || s.out >= static_cast<int>(buffers_.size())) fail("pool: buffer does not exist");
  const BufferSpec& i = buffers_[static_cast<size_t>(s.in)].spec;
  const BufferSpec& o = buffers_[static_cast<size_t>(s.out)].spec;
  if (i.codes || !o.codes || o.h != 1 || o.w != 1 || o.c != i.c) fail("pool: expects a float input and a 1x1 codes output with as many channels");
  Step st;
  st.kind = 1;
  st.pool = s;
  steps_.push_back(std::move(st));
  return static_cast<int>(steps_.size()) - 1;
}

void Plan::ensure(int64_t n, int workers) {
  if (n <= capacity_ && workers <= workers_) return;
  capacity_ = std::max(capacity_, n);
  workers_ = std::max(workers_, workers);
  work_.assign(static_cast<size_t>(workers_), std::vector<Storage>(buffers_.size()));
  for (auto& mem : work_)
    for (size_t i = 0; i < buffers_.size(); i++) {
      // Zeroed once: borders and padding channels are never written, so they stay zero.
      const Buffer& b = buffers_[i];
      if (b.spec.codes) mem[i].codes.assign(static_cast<size_t>(b.perImage * capacity_), 0);
      else mem[i].floats.assign(static_cast<size_t>(b.perImage * capacity_), 0.f);
    }
}

void Plan::runConv(const Step& st, std::vector<Storage>& mem, int64_t batch, int threadLimit) {
  const ConvSpec& s = st.conv;
  const Buffer& in = buffers_[static_cast<size_t>(s.in)];
  ConvArgs a;
  a.in = mem[static_cast<size_t>(s.in)].codes.data();
  a.inH = in.spec.h;
  a.inW = in.spec.w;
  a.cp = in.cp;
  a.inBorder = in.spec.border;
  a.kh = s.kh;
  a.kw = s.kw;
  a.stride = s.stride;
  a.pad = s.pad;
  a.oc = s.oc;
  a.ocp = st.w.ocp;
  a.outH = st.outH;
  a.outW = st.outW;
  a.weights = st.w.data.data();
  a.oddOnes = s.oddOnes;
  a.pairsFitInt16 = 2 * s.inMax * st.w.maxAbs <= 32767;
  a.mul = s.mul.data();
  a.add = s.add.data();
  a.posBias = s.posBias.empty() ? nullptr : s.posBias.data();
  a.residual = s.residual >= 0 ? mem[static_cast<size_t>(s.residual)].floats.data() : nullptr;
  a.relu = s.relu;
  a.outFloat = s.outFloat >= 0 ? mem[static_cast<size_t>(s.outFloat)].floats.data() : nullptr;
  a.numCodes = s.numCodes;
  for (int q = 0; q < s.numCodes; q++) {
    Buffer& o = buffers_[static_cast<size_t>(s.outCodes[q])];
    a.codes[q].data = mem[static_cast<size_t>(s.outCodes[q])].codes.data();
    a.codes[q].cp = o.cp;
    a.codes[q].border = o.spec.border;
    a.codes[q].scale = s.codeScale[q];
    a.codes[q].alpha = s.codeAlpha[q];
    a.codes[q].levels = s.codeLevels[q];
  }
  const int64_t rows = batch * st.outH * st.outW;
  // Chunks of whole micro-kernel tiles, a few per thread so uneven tails balance. The thread count is
  // the plan's own (a num_threads clause), not OpenMP's global setting, which libtorch resets.
  const int64_t tileRows = rowsPerTile(isa_);
  const int64_t tiles = (rows + tileRows - 1) / tileRows;
  const double macs = static_cast<double>(rows) * s.oc * s.kh * s.kw * in.spec.c;
  const int threads = macs < minParallelMacs_ ? 1 : static_cast<int>(std::min<int64_t>(threadLimit, tiles));
  const int64_t chunkTiles = std::max<int64_t>(1, tiles / (4 * threads));
  const int64_t chunks = (tiles + chunkTiles - 1) / chunkTiles;
  const Isa isa = isa_;
  if (threads <= 1) {
    runConvRows(isa, a, 0, rows);
    return;
  }
#pragma omp parallel for schedule(static) num_threads(threads)
  for (int64_t c = 0; c < chunks; c++) {
    const int64_t r0 = c * chunkTiles * tileRows;
    const int64_t r1 = std::min(rows, r0 + chunkTiles * tileRows);
    if (r0 < r1) runConvRows(isa, a, r0, r1);
  }
}

void Plan::runPool(const Step& st, std::vector<Storage>& mem, int64_t batch) {
  const PoolQuantSpec& s = st.pool;
  const Buffer& in = buffers_[static_cast<size_t>(s.in)];
  Buffer& out = buffers_[static_cast<size_t>(s.out)];
  const float* inData = mem[static_cast<size_t>(s.in)].floats.data();
  uint8_t* outData = mem[static_cast<size_t>(s.out)].codes.data();
  const int c = in.spec.c;
  const int64_t plane = static_cast<int64_t>(in.spec.h) * in.spec.w;
  std::vector<float> sum(static_cast<size_t>(c));
  for (int64_t n = 0; n < batch; n++) {
    std::fill(sum.begin(), sum.end(), 0.f);
    const float* p = inData + n * plane * c;
    for (int64_t i = 0; i < plane; i++)
      for (int k = 0; k < c; k++) sum[static_cast<size_t>(k)] += p[i * c + k];
    uint8_t* dst = outData + n * out.perImage + (static_cast<int64_t>(out.spec.border) * (1 + 2 * out.spec.border) + out.spec.border) * out.cp;
    for (int k = 0; k < c; k++) {
      const float mean = sum[static_cast<size_t>(k)] / static_cast<float>(plane);
      const float y = std::min(std::max(mean, 0.f), s.alpha);
      const float t = std::min(std::max(y / s.scale, 0.f), s.levels);
      dst[k] = static_cast<uint8_t>(std::nearbyint(t));
    }
  }
}

void Plan::runChunk(const uint8_t* px, int64_t batch, int inputBuf, int w, int threads, bool profile) {
  std::vector<Storage>& mem = work_[static_cast<size_t>(w)];
  const Buffer& in = buffers_[static_cast<size_t>(inputBuf)];
  const BufferSpec& b = in.spec;
  const int64_t wb = b.w + 2 * b.border;
  uint8_t* inData = mem[static_cast<size_t>(inputBuf)].codes.data();
  for (int64_t i = 0; i < batch; i++)
    for (int y = 0; y < b.h; y++)
      for (int x = 0; x < b.w; x++) {
        uint8_t* dst = inData + i * in.perImage + ((y + b.border) * wb + x + b.border) * in.cp;
        std::memcpy(dst, px + ((i * b.h + y) * b.w + x) * b.c, static_cast<size_t>(b.c));
      }
  for (Step& s : steps_) {
    const auto t0 = std::chrono::steady_clock::now();
    if (s.kind == 0) runConv(s, mem, batch, threads);
    else runPool(s, mem, batch);
    if (!profile) continue;
    // The fastest run per image: on a shared machine the minimum is the number that repeats.
    const double dt = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (s.images == 0 || dt / batch < s.seconds / s.images) {
      s.seconds = dt;
      s.images = batch;
    }
  }
}

std::vector<float> Plan::run(const uint8_t* pixels, int64_t n, int inputBuf, int outputBuf, int64_t chunk) {
  if (n < 1) fail("run: batch must be at least 1");
  if (chunk < 1) fail("run: chunk must be at least 1");
  if (inputBuf < 0 || inputBuf >= static_cast<int>(buffers_.size()) || !buffers_[static_cast<size_t>(inputBuf)].spec.codes) fail("run: the input buffer must hold codes");
  if (outputBuf < 0 || outputBuf >= static_cast<int>(buffers_.size()) || buffers_[static_cast<size_t>(outputBuf)].spec.codes) fail("run: the output buffer must hold floats");
  const BufferSpec& b = buffers_[static_cast<size_t>(inputBuf)].spec;
  const int64_t imageBytes = static_cast<int64_t>(b.h) * b.w * b.c;
  const int64_t outPer = buffers_[static_cast<size_t>(outputBuf)].perImage;
  const int64_t chunks = (n + chunk - 1) / chunk;
  const int workers = static_cast<int>(std::min<int64_t>(threads_, chunks));
  ensure(std::min(n, chunk), workers);
  std::vector<float> result(static_cast<size_t>(n * outPer));
  auto finish = [&](int64_t c, int w) {
    const int64_t first = c * chunk, size = std::min(chunk, n - first);
    const auto& out = work_[static_cast<size_t>(w)][static_cast<size_t>(outputBuf)].floats;
    std::copy(out.begin(), out.begin() + size * outPer, result.begin() + first * outPer);
  };
  if (workers > 1) {
#pragma omp parallel for schedule(dynamic, 1) num_threads(workers)
    for (int64_t c = 0; c < chunks; c++) {
      int w = 0;
#ifdef _OPENMP
      w = omp_get_thread_num();
#endif
      const int64_t first = c * chunk;
      runChunk(pixels + first * imageBytes, std::min(chunk, n - first), inputBuf, w, 1, false);
      finish(c, w);
    }
    batch_ = 0;
    return result;
  }
  for (int64_t c = 0; c < chunks; c++) {
    const int64_t first = c * chunk;
    batch_ = std::min(chunk, n - first);
    runChunk(pixels + first * imageBytes, batch_, inputBuf, 0, threads_, true);
    finish(c, 0);
  }
  return result;
}

std::vector<uint8_t> Plan::readCodes(int id) const {
  const Buffer& buf = buffers_.at(static_cast<size_t>(id));
  if (!buf.spec.codes) fail("read: buffer holds floats");
  const BufferSpec& b = buf.spec;
  std::vector<uint8_t> out(static_cast<size_t>(batch_ * b.h * b.w * b.c));
  const int64_t wb = b.w + 2 * b.border;
  for (int64_t i = 0; i < batch_; i++)
    for (int y = 0; y < b.h; y++)
      for (int x = 0; x < b.w; x++)
        std::memcpy(out.data() + ((i * b.h + y) * b.w + x) * b.c, work_[0][static_cast<size_t>(id)].codes.data() + i * buf.perImage + ((y + b.border) * wb + x + b.border) * buf.cp,
                    static_cast<size_t>(b.c));
  return out;
}

std::vector<float> Plan::readFloats(int id) const {
  const Buffer& buf = buffers_.at(static_cast<size_t>(id));
  if (buf.spec.codes) fail("read: buffer holds codes");
  const auto& f = work_[0][static_cast<size_t>(id)].floats;
  return std::vector<float>(f.begin(), f.begin() + batch_ * buf.perImage);
}

std::vector<Plan::StepProfile> Plan::profile() const {
  std::vector<StepProfile> out;
  for (const Step& s : steps_) {
    double macs = 0;
    if (s.kind == 0) macs = static_cast<double>(s.outH) * s.outW * s.conv.oc * s.conv.kh * s.conv.kw * buffers_[static_cast<size_t>(s.conv.in)].spec.c;
    out.push_back({macs, s.seconds, s.images});
  }
  return out;
}

void Plan::resetProfile() {
  for (Step& s : steps_) {
    s.seconds = 0;
    s.images = 0;
  }
}

size_t Plan::weightBytes() const {
  size_t total = 0;
  for (const Step& s : steps_) total += s.w.data.size();
  return total;
}

}  // namespace rt
}  // namespace lowbit
