// Fused fake-quantization ops with their own autograd nodes: one pass over the data forward and one
// backward, where the same math written as separate ATen ops takes a dozen passes (PACT's clip, round
// and straight-through surrogate were the largest cost of a W2A2 training step).
#pragma once
#include <ATen/ATen.h>

namespace lowbit {

// PACT (Choi et al. 2018) activation fake-quantization, values identical to the op-by-op version:
//   y = clip(x, 0, alpha), s = alpha / levels, out = round(clamp(y / s, 0, levels)) * s   (eq. 1-2)
//   d out / d x = 1 if 0 <= x < alpha else 0; d out / d alpha = 1 if x >= alpha else 0    (eq. 3)
// x: float32, any dense layout (NCHW or channels-last); alpha: one element, float32.
at::Tensor pactFakeQuant(const at::Tensor& x, const at::Tensor& alpha, int64_t levels);


// SAWB (Choi et al. 2018, "Bridging the Accuracy Gap for 2-bit Quantized Neural Networks") weight
// fake-quantization per tensor, values identical to the op-by-op version (src/quant/sawb.ts):
//   alpha = c1 sqrt(E[w^2]) + c2 E[|w|], s = alpha / levels,
//   out = (2 round((clamp(w / s, -levels, levels) + levels) / 2) - levels) * s
//   d out / d w = 1 where |w| <= alpha, else 0 (alpha is a statistic: no gradient)
// w: float32, any dense layout; levels = 2^b - 1. Throws if alpha is not positive.
at::Tensor sawbFakeQuant(const at::Tensor& w, double c1, double c2, int64_t levels);

}  // namespace lowbit
