#include "training.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "elementwise.h"
#include "thread_pool.h"

namespace birdvlm {
namespace {

#define BIRDVLM_SIMD __attribute__((target_clones("avx512f", "avx2", "default")))

// Reference: PyTorch `LayerNormBackwardKernelImplInternal` (aten/src/ATen/native/cpu/layer_norm_kernel.cpp) and
// the closed forms of core's ops/layer-norm.ts and ops/rms-norm.ts.
// dx, dgamma and dbeta are distinct buffers (restrict: without it GCC keeps the last loops scalar).
BIRDVLM_SIMD void norm_grad_rows(const float* __restrict dy, const float* __restrict x, const float* __restrict gamma,
                                 float* __restrict dx, float* __restrict dgamma, float* __restrict dbeta, int64_t r0,
                                 int64_t r1, int64_t C, float eps, bool rms) {
  const float invC = 1.f / static_cast<float>(C);
  for (int64_t r = r0; r < r1; r++) {
    const float* xr = x + r * C;
    const float* g = dy + r * C;
    float* o = dx + r * C;
    float mean = 0.f;
    if (!rms) {
#pragma omp simd reduction(+ : mean)
      for (int64_t j = 0; j < C; j++) mean += xr[j];
      mean *= invC;
    }
    float var = 0.f;
#pragma omp simd reduction(+ : var)
    for (int64_t j = 0; j < C; j++) var += (xr[j] - mean) * (xr[j] - mean);
    const float rstd = 1.f / std::sqrt(var * invC + eps);
    float sumG = 0.f, sumGX = 0.f;
#pragma omp simd reduction(+ : sumG, sumGX)
    for (int64_t j = 0; j < C; j++) {
      const float gj = g[j] * gamma[j], xhat = (xr[j] - mean) * rstd;
      sumG += gj;
      sumGX += gj * xhat;
    }
    const float meanG = rms ? 0.f : sumG * invC, meanGX = sumGX * invC;
    for (int64_t j = 0; j < C; j++) {
      const float xhat = (xr[j] - mean) * rstd;
      o[j] = rstd * (g[j] * gamma[j] - meanG - xhat * meanGX);
      dgamma[j] += g[j] * xhat;
    }
    if (dbeta)
      for (int64_t j = 0; j < C; j++) dbeta[j] += g[j];
  }
}

// Reference: PyTorch `torch.optim.AdamW` (torch/optim/adamw.py, `_single_tensor_adamw`), as core's optimizers/adamw.ts.
// The outputs are fresh buffers (restrict: without it GCC gives up on the seven-pointer loop).
BIRDVLM_SIMD void adamw_range(const float* __restrict p, const float* __restrict g, const float* __restrict m,
                              const float* __restrict v, float* __restrict pOut, float* __restrict mOut,
                              float* __restrict vOut, int64_t b, int64_t e, AdamWStep s) {
  const float b1 = s.beta1, c1 = s.oneMinusBeta1, b2 = s.beta2, c2 = s.oneMinusBeta2, eps = s.eps, decay = s.decay;
  const float stepSize = s.stepSize, bc2Sqrt = s.bc2Sqrt;
  for (int64_t i = b; i < e; i++) {
    const float mi = m[i] * b1 + g[i] * c1;
    const float vi = v[i] * b2 + (g[i] * g[i]) * c2;
    mOut[i] = mi;
    vOut[i] = vi;
    pOut[i] = p[i] * decay - mi / (std::sqrt(vi) / bc2Sqrt + eps) * stepSize;
  }
}

}  // namespace

BIRDVLM_SIMD double sum_squares(const float* x, int64_t n) {
  double total = 0.0;
  for (int64_t b = 0; b < n; b += 4096) {
    const int64_t e = std::min(n, b + 4096);
    float s = 0.f;
#pragma omp simd reduction(+ : s)
    for (int64_t i = b; i < e; i++) s += x[i] * x[i];
    total += s;
  }
  return total;
}

void norm_rows_grad(const float* dy, const float* x, const float* gamma, float* dx, float* dgamma, float* dbeta,
                    int64_t rows, int64_t C, float eps, bool rms) {
  // Rows in chunks; each chunk sums dgamma (and dbeta) into its own partial rows, added up in chunk order after.
  const int64_t chunks = row_chunks(rows, C), step = (rows + chunks - 1) / std::max<int64_t>(chunks, 1);
  std::vector<float> partial(chunks * 2 * C, 0.f);
  auto task = [&](int c) {
    const int64_t r0 = c * step, r1 = std::min(rows, r0 + step);
    float* pg = partial.data() + c * 2 * C;
    if (r0 < r1) norm_grad_rows(dy, x, gamma, dx, pg, dbeta ? pg + C : nullptr, r0, r1, C, eps, rms);
  };
  if (chunks == 1)
    task(0);
  else
    pool().run(static_cast<int>(chunks), task);
  for (int64_t j = 0; j < C; j++) {
    float sg = 0.f, sb = 0.f;
    for (int64_t c = 0; c < chunks; c++) {
      sg += partial[c * 2 * C + j];
      sb += partial[c * 2 * C + C + j];
    }
    dgamma[j] = sg;
    if (dbeta) dbeta[j] = sb;
  }
}

void adamw(const float* p, const float* g, const float* m, const float* v, float* pOut, float* mOut, float* vOut,
           int64_t n, const AdamWStep& s) {
  parallel_for(n, 1 << 15, [&](int64_t b, int64_t e) { adamw_range(p, g, m, v, pOut, mOut, vOut, b, e, s); });
}

}  // namespace birdvlm
