#include "clip-search.h"

#include <ATen/Parallel.h>
#include <c10/util/Exception.h>

#include <algorithm>
#include <vector>

namespace lowbit {
namespace {

// Elements per job: a chunk stays in L1/L2 while all G candidates sweep it, so the data is read from
// memory once instead of G times.
constexpr int64_t kChunk = 4096;
// Independent partial sums per chunk, so the loop vectorizes without -ffast-math reassociation.
constexpr int kLanes = 8;

// Round half to even for |q| < 2^22 (float) / 2^51 (double) by the magic-number add, as fused-quant.cc.
template <typename T> struct Magic;
template <> struct Magic<float> { static constexpr float value = 12582912.f; };
template <> struct Magic<double> { static constexpr double value = 6755399441055744.0; };

template <typename T>
void gridErrors(const T* x, int64_t rows, int64_t n, const T* rowMax, int64_t grid, double qMin, double qMax, double minRange, double* out) {
  const int64_t chunks = std::max<int64_t>((n + kChunk - 1) / kChunk, 1);
  std::vector<double> partial(static_cast<size_t>(rows * chunks * grid), 0.0);
  const T lo = static_cast<T>(qMin);
  const T hi = static_cast<T>(qMax);
  const T magic = Magic<T>::value;
  at::parallel_for(0, rows * chunks, 1, [&](int64_t jb, int64_t je) {
    for (int64_t job = jb; job < je; job++) {
      const int64_t r = job / chunks;
      const int64_t begin = (job % chunks) * kChunk;
      const int64_t end = std::min(n, begin + kChunk);
      const T* __restrict px = x + r * n;
      for (int64_t k = 1; k <= grid; k++) {
        // The candidate's step exactly as the tensor code forms it, in T: r_k = max * (k / G), at
        // least minRange, s = r_k / qMax; then q = round(clamp(x / s, qMin, qMax)) * s.
        const T range = std::max(rowMax[r] * static_cast<T>(static_cast<double>(k) / static_cast<double>(grid)), static_cast<T>(minRange));
        const T s = range / hi;
        double lanes[kLanes] = {0};
        int64_t i = begin;
        for (; i + kLanes <= end; i += kLanes) {
          for (int l = 0; l < kLanes; l++) {
            const T v = px[i + l];
            const T q = std::min(std::max(v / s, lo), hi);
            const T d = ((q + magic) - magic) * s - v;
            lanes[l] += static_cast<double>(d * d);
          }
        }
        double acc = 0;
        for (; i < end; i++) {
          const T v = px[i];
          const T q = std::min(std::max(v / s, lo), hi);
          const T d = ((q + magic) - magic) * s - v;
          acc += static_cast<double>(d * d);
        }
        for (int l = 0; l < kLanes; l++) acc += lanes[l];
        partial[static_cast<size_t>(job * grid + k - 1)] = acc;
      }
    }
  });
  // Chunks summed in order: the result does not depend on the thread count.
  for (int64_t r = 0; r < rows; r++) {
    for (int64_t c = 0; c < chunks; c++) {
      const double* p = &partial[static_cast<size_t>((r * chunks + c) * grid)];
      for (int64_t k = 0; k < grid; k++) out[r * grid + k] += p[k];
    }
  }
}

}  // namespace

at::Tensor clipGridErrors(const at::Tensor& rows, const at::Tensor& rowMax, int64_t grid, double qMin, double qMax, double minRange) {
  TORCH_CHECK(rows.dim() == 2, "clipGridErrors: rows must be 2-D (rows x elements), got ", rows.dim(), "-D");
  TORCH_CHECK(rows.scalar_type() == at::kFloat || rows.scalar_type() == at::kDouble, "clipGridErrors: rows must be float32 or float64, got ", rows.scalar_type());
  TORCH_CHECK(rowMax.numel() == rows.size(0), "clipGridErrors: rowMax needs one value per row (", rows.size(0), "), got ", rowMax.numel());
  TORCH_CHECK(grid >= 1, "clipGridErrors: the grid needs at least one candidate");
  TORCH_CHECK(qMax > 0 && qMin <= 0 && qMax < 4194304 && qMin > -4194304, "clipGridErrors: the code range must hold 0 and lie within +-2^22");
  const at::Tensor x = rows.contiguous();
  const at::Tensor m = rowMax.to(rows.scalar_type()).contiguous();
  at::Tensor out = at::zeros({rows.size(0), grid}, rows.options().dtype(at::kDouble));
  AT_DISPATCH_FLOATING_TYPES(x.scalar_type(), "clipGridErrors", [&] {
    gridErrors<scalar_t>(x.data_ptr<scalar_t>(), x.size(0), x.size(1), m.data_ptr<scalar_t>(), grid, qMin, qMax, minRange, out.data_ptr<double>());
  });
  return out;
}

}  // namespace lowbit
