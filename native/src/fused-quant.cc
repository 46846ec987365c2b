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

// A dense tensor's elements in memory order, whatever its memory format: elementwise work can run
// straight over the buffer. Anything else is made contiguous first.
at::Tensor dense(const at::Tensor& t) {
  return t.is_non_overlapping_and_dense() ? t : t.contiguous();
}

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
      // Locals and restrict: the stores must not be assumed to alias the inputs, or nothing vectorizes.
      const float* __restrict in = px;
      float* __restrict outp = po;
      for (int64_t i = begin; i < end; i++) {
        // Branch-free so the loop vectorizes (the data's signs are random: branches mispredict).
        const float y = std::min(std::max(in[i], 0.f), a);
        const float q = std::min(std::max(y / s, 0.f), top);
        outp[i] = roundHalfEven(q) * s;
      }
    });
    ctx->save_for_backward({x});
    ctx->saved_data["alpha"] = static_cast<double>(a);
    return out;
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    const at::Tensor x = ctx->get_saved_variables()[0];
    const float a = static_cast<float>(ctx->saved_data["alpha"].toDouble());
    // The incoming gradient in x's layout, so both buffers are walked in the same element order.
    const at::Tensor g = grads[0].contiguous(x.suggest_memory_format());
    TORCH_CHECK(g.strides() == x.strides(), "pactFakeQuant backward: gradient layout differs from the input's");
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
        const int64_t end = std::min(n, (c + 1) * kGrain);
        float acc = 0.f;  // one chunk in float32, chunks summed in double below
        for (int64_t i = c * kGrain; i < end; i++) {
          const float v = px[i];
          const float g = pg[i];
          acc += v >= a ? g : 0.f;
          pgx[i] = (v >= 0.f && v < a) ? g : 0.f;
        }
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

}  // namespace lowbit
