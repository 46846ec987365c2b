#include "fused-quant.h"

#include <ATen/Parallel.h>
#include <c10/util/Exception.h>
#include <torch/csrc/autograd/custom_function.h>

#include <algorithm>
#include <cmath>
#include <vector>

namespace lowbit {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

constexpr int64_t kGrain = 32768;

// Round half to even (at::round's rule) for 0 <= q < 2^22 in the default rounding mode: adding
// 1.5 * 2^23 leaves no fraction bits, so the FPU rounds to an integer, half to even. Unlike
// std::nearbyint it is two adds that vectorize; it also maps -0 to +0 as ATen's vectorized clamp does,
// and NaN stays NaN. No -ffast-math here, which could fold the two adds away.
inline float roundHalfEven(float q) {
  constexpr float kMagic = 12582912.f;
  return (q + kMagic) - kMagic;
}

// The elementwise loops are compiled for AVX-512, AVX2 and baseline x86-64, and the loader picks the
// best the CPU has (GCC function multiversioning): the addon is built without -march flags, and
// baseline SSE2 ran PACT at a third of ATen's ReLU speed. Every version computes the same floats:
// the loops only divide, compare and add (no fused multiply-add to contract).
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define LOWBIT_MULTIVERSION __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define LOWBIT_MULTIVERSION
#endif

// PACT forward over n elements (eq. 1-2). Branch-free so it vectorizes (the data's signs are random:
// branches mispredict); restrict, or the stores are assumed to alias the input.
LOWBIT_MULTIVERSION void pactForwardRange(const float* __restrict in, float* __restrict out, int64_t n, float a, float s, float top) {
  for (int64_t i = 0; i < n; i++) {
    const float y = std::min(std::max(in[i], 0.f), a);
    const float q = std::min(std::max(y / s, 0.f), top);
    out[i] = roundHalfEven(q) * s;
  }
}

// PACT backward over n elements (eq. 3): writes d/dx and returns this range's share of d/d alpha.
// The sum runs in 16 float32 lanes (element i into lane i % 16), added up in lane order at the end:
// a fixed order, so the same result on every CPU, and one the compiler can vectorize (a single
// running sum cannot be reordered, which kept the whole loop scalar).
LOWBIT_MULTIVERSION float pactBackwardRange(const float* __restrict x, const float* __restrict g, float* __restrict gx, int64_t n, float a) {
  constexpr int64_t kLanes = 16;
  float lanes[kLanes] = {};
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes) {
    for (int64_t j = 0; j < kLanes; j++) {
      const float v = x[i + j];
      const float gi = g[i + j];
      lanes[j] += v >= a ? gi : 0.f;
      gx[i + j] = (v >= 0.f && v < a) ? gi : 0.f;
    }
  }
  for (int64_t j = 0; i < n; i++, j++) {
    const float v = x[i];
    lanes[j] += v >= a ? g[i] : 0.f;
    gx[i] = (v >= 0.f && v < a) ? g[i] : 0.f;
  }
  float acc = 0.f;
  for (int64_t j = 0; j < kLanes; j++) acc += lanes[j];
  return acc;
}

// A dense tensor's elements in memory order, whatever its memory format: elementwise work can run
// straight over the buffer. Anything else is made contiguous first.
at::Tensor dense(const at::Tensor& t) {
  return t.is_non_overlapping_and_dense() ? t : t.contiguous();
}

// An incoming gradient laid out exactly like `like` (a dense tensor), so both buffers can be walked in
// the same element order: as it comes when the strides agree, else copied into that layout.
at::Tensor inLayoutOf(const at::Tensor& g, const at::Tensor& like) {
  return g.strides() == like.strides() ? g : at::empty_like(like).copy_(g);
}

// SAWB's codes and values over n elements, the same float32 operations in the same order as the
// op-by-op form (src/quant/sawb.ts): c = 2 round((clamp(w / s, -n, n) + n) / 2) - n, value c * s.
LOWBIT_MULTIVERSION void sawbForwardRange(const float* __restrict w, float* __restrict out, int64_t len, float s, float n) {
  for (int64_t i = 0; i < len; i++) {
    const float t = std::min(std::max(w[i] / s, -n), n);
    const float c = roundHalfEven((t + n) / 2.f) * 2.f - n;
    out[i] = c * s;
  }
}

// SAWB's straight-through backward: g where |w| <= alpha, else 0, as g * 1 or g * 0 (so -0 stays -0,
// as in the op-by-op form).
LOWBIT_MULTIVERSION void sawbBackwardRange(const float* __restrict w, const float* __restrict g, float* __restrict gw, int64_t len, float alpha) {
  for (int64_t i = 0; i < len; i++) gw[i] = g[i] * (std::fabs(w[i]) <= alpha ? 1.f : 0.f);
}

struct SawbFunction : public torch::autograd::Function<SawbFunction> {
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& weight, double c1, double c2, int64_t levels) {
    TORCH_CHECK(weight.scalar_type() == at::kFloat, "sawbFakeQuant: weight must be float32, got ", weight.scalar_type());
    TORCH_CHECK(levels >= 1 && levels <= 255 && levels % 2 == 1, "sawbFakeQuant: levels must be 2^b - 1 for b in 1..8, got ", levels);
    const at::Tensor w = dense(weight);
    // alpha = c1 sqrt(E[w^2]) + c2 E[|w|] with the same ATen reductions as the op-by-op form, so it is
    // the same float32 number.
    const at::Tensor alphaT = at::add(at::mul(at::sqrt(at::mean(at::square(w))), at::Scalar(c1)), at::mul(at::mean(at::abs(w)), at::Scalar(c2)));
    const float alpha = alphaT.item<float>();
    TORCH_CHECK(alpha > 0.f, "SawbQuantizer: clip level alpha = ", alpha,
                " is not positive for this weight (all zeros, or a distribution the coefficients were not fit for); "
                "use another weight quantizer for this layer");
    const float s = at::div(alphaT, at::Scalar(levels)).item<float>();
    const float n = static_cast<float>(levels);
    at::Tensor out = at::empty_like(w);
    const float* pw = w.data_ptr<float>();
    float* po = out.data_ptr<float>();
    at::parallel_for(0, w.numel(), kGrain, [=](int64_t begin, int64_t end) {
      sawbForwardRange(pw + begin, po + begin, end - begin, s, n);
    });
    ctx->save_for_backward({w});
    ctx->saved_data["alpha"] = static_cast<double>(alpha);
    return out;
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    const at::Tensor w = ctx->get_saved_variables()[0];
    const float alpha = static_cast<float>(ctx->saved_data["alpha"].toDouble());
    const at::Tensor g = inLayoutOf(grads[0], w);
    at::Tensor gw = at::empty_like(w);
    const float* pw = w.data_ptr<float>();
    const float* pg = g.data_ptr<float>();
    float* pgw = gw.data_ptr<float>();
    at::parallel_for(0, w.numel(), kGrain, [=](int64_t begin, int64_t end) {
      sawbBackwardRange(pw + begin, pg + begin, pgw + begin, end - begin, alpha);
    });
    return {gw, at::Tensor(), at::Tensor(), at::Tensor()};
  }
};

struct PactFunction : public torch::autograd::Function<PactFunction> {
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& input, const at::Tensor& alpha, int64_t levels) {
    TORCH_CHECK(input.scalar_type() == at::kFloat, "pactFakeQuant: input must be float32, got ", input.scalar_type());
    TORCH_CHECK(alpha.numel() == 1 && alpha.scalar_type() == at::kFloat, "pactFakeQuant: alpha must be one float32 value");
    TORCH_CHECK(levels >= 1, "pactFakeQuant: levels must be >= 1");
    const at::Tensor x = dense(input);
    const float a = alpha.item<float>();
    // s = alpha / levels in float32, and y / s a true division, as the op-by-op version computes them.
    const float s = a / static_cast<float>(levels);
    const float top = static_cast<float>(levels);
    at::Tensor out = at::empty_like(x);
    const float* px = x.data_ptr<float>();
    float* po = out.data_ptr<float>();
    at::parallel_for(0, x.numel(), kGrain, [=](int64_t begin, int64_t end) {
      pactForwardRange(px + begin, po + begin, end - begin, a, s, top);
    });
    ctx->save_for_backward({x});
    ctx->saved_data["alpha"] = static_cast<double>(a);
    return out;
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    const at::Tensor x = ctx->get_saved_variables()[0];
    const float a = static_cast<float>(ctx->saved_data["alpha"].toDouble());
    const at::Tensor g = inLayoutOf(grads[0], x);
    at::Tensor gx = at::empty_like(x);
    const float* px = x.data_ptr<float>();
    const float* pg = g.data_ptr<float>();
    float* pgx = gx.data_ptr<float>();
    const int64_t n = x.numel();
    // d/d alpha sums over all elements: fixed chunks, each summed in float32, then the chunk sums in
    // double and in chunk order, so the result does not depend on the thread count or scheduling.
    const int64_t chunks = (n + kGrain - 1) / kGrain;
    std::vector<double> partial(static_cast<size_t>(std::max<int64_t>(chunks, 1)), 0.0);
    at::parallel_for(0, chunks, 1, [&](int64_t cb, int64_t ce) {
      for (int64_t c = cb; c < ce; c++) {
        const int64_t begin = c * kGrain;
        const int64_t end = std::min(n, begin + kGrain);
        const float acc = pactBackwardRange(px + begin, pg + begin, pgx + begin, end - begin, a);
        partial[static_cast<size_t>(c)] = acc;
      }
    });
    double total = 0.0;
    for (double p : partial) total += p;
    at::Tensor galpha = at::full({1}, total, x.options());
    return {gx, galpha, at::Tensor()};
  }
};

}  // namespace

at::Tensor pactFakeQuant(const at::Tensor& x, const at::Tensor& alpha, int64_t levels) {
  return PactFunction::apply(x, alpha.reshape({1}), levels);
}

at::Tensor sawbFakeQuant(const at::Tensor& w, double c1, double c2, int64_t levels) {
  return SawbFunction::apply(w, c1, c2, levels);
}

}  // namespace lowbit
