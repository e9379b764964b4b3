// Kernels of the training step: the backward of the row norms, the AdamW update and the gradients' sum of squares.
#pragma once
#include <cstdint>

namespace birdvlm {

/**
 * Backward of `norm_rows` over [rows, C]: with xhat = (x - mean) * rstd (mean 0 when `rms`) and g = dy * gamma,
 * dx = rstd * (g - mean(g) - xhat * mean(g * xhat)) (no mean(g) term when `rms`), dgamma = sum over rows of
 * dy * xhat, and when `dbeta` is not null dbeta = sum over rows of dy.
 */
void norm_rows_grad(const float* dy, const float* x, const float* gamma, float* dx, float* dgamma, float* dbeta,
                    int64_t rows, int64_t C, float eps, bool rms);

/** The scalars of one AdamW update (see `adamw`), each rounded once from the caller's double, as TF.js's scalars. */
struct AdamWStep {
  float beta1, oneMinusBeta1, beta2, oneMinusBeta2, eps;
  float decay;     // 1 - lr * weightDecay (1: no decay)
  float stepSize;  // lr / (1 - beta1^t)
  float bc2Sqrt;   // sqrt(1 - beta2^t)
};

/**
 * One AdamW step (PyTorch `torch.optim.AdamW`) over n values, written to new buffers:
 * m' = b1 m + (1 - b1) g, v' = b2 v + (1 - b2) g², p' = p · decay - m' / (sqrt(v') / bc2Sqrt + eps) · stepSize.
 */
void adamw(const float* p, const float* g, const float* m, const float* v, float* pOut, float* mOut, float* vOut,
           int64_t n, const AdamWStep& s);

/** Σ x[i]² over n floats: float sums of 4096-float blocks (vectorized), added up in double. */
double sum_squares(const float* x, int64_t n);

}  // namespace birdvlm
