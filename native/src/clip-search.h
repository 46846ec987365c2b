// The squared quantization error of every candidate clip range in one pass over the data, for the
// MSE-optimal range search (src/quant/range-estimators.ts), which as separate ATen ops took seven
// passes and six temporaries per candidate: 100 candidates made activation calibration the slowest
// part of `lowbit ptq --abits`.
#pragma once
#include <ATen/ATen.h>

namespace lowbit {

// rows: R x N, float32 or float64; rowMax: R values. For k = 1..grid, per row:
//   r_k = max(rowMax * k / grid, minRange), s = r_k / qMax,
//   err[row, k-1] = sum_i (round(clamp(x_i / s, qMin, qMax)) * s - x_i)^2
// computed in the rows' dtype (rounding half to even, as at::round), summed in float64. Returns R x grid float64.
at::Tensor clipGridErrors(const at::Tensor& rows, const at::Tensor& rowMax, int64_t grid, double qMin, double qMax, double minRange);

}  // namespace lowbit
