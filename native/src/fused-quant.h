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

}  // namespace lowbit
