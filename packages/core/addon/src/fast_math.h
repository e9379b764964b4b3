// Vectorizable float approximations shared by the kernels (exp, erf), exact to a few ulp.
#pragma once
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <algorithm>

namespace birdvlm {

// exp with a degree-6 polynomial after range reduction (relative error ~2 ulp), vectorizable; the power of
// two is applied in two halves so results stay exact from the denormals up to FLT_MAX; NaN propagates.
inline float pow2i(int32_t n) {
  int32_t bits = (n + 127) << 23;
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

inline float fast_exp(float x0) {
  float x = std::min(88.72283935546875f, std::max(-103.972084045410f, x0));
  // Round to nearest (ties to even, as nearbyint) by adding and taking away 1.5 * 2^23: |x * log2 e| < 2^22 here.
  // std::nearbyint is a libm call that keeps every loop calling this scalar.
  float n = (x * 1.44269504088896341f + 12582912.f) - 12582912.f;
  float r = x - n * 0.693359375f;
  r = r - n * -2.12194440e-4f;
  float p = 1.9875691500E-4f;
  p = p * r + 1.3981999507E-3f;
  p = p * r + 8.3334519073E-3f;
  p = p * r + 4.1665795894E-2f;
  p = p * r + 1.6666665459E-1f;
  p = p * r + 5.0000001201E-1f;
  p = p * r * r + r + 1.0f;
  int32_t ni = static_cast<int32_t>(n);
  int32_t n1 = ni / 2;
  float y = p * pow2i(n1) * pow2i(ni - n1);
  y = x0 > 88.72283935546875f ? std::numeric_limits<float>::infinity() : y;
  y = x0 < -103.972084045410f ? 0.f : y;
  return x0 != x0 ? x0 : y;
}

// erf from erfc's Chebyshev fit (Numerical Recipes erfcc): fractional error below 1.2e-7.
inline float fast_erf(float x) {
  float z = std::fabs(x);
  float t = 1.0f / (1.0f + 0.5f * z);
  float poly = -z * z - 1.26551223f +
               t * (1.00002368f + t * (0.37409196f + t * (0.09678418f + t * (-0.18628806f + t * (0.27886807f +
               t * (-1.13520398f + t * (1.48851587f + t * (-0.82215223f + t * 0.17087277f))))))));
  float r = 1.0f - t * fast_exp(poly);
  return x >= 0 ? r : -r;
}

// erf from Abramowitz & Stegun 7.1.26 (the formula TF.js's cpu Erf uses): absolute error below 4e-7 in float,
// about 1.5x faster than fast_erf. For gradients (GELU's backward), where that error does not matter; forward
// values keep fast_erf.
inline float fast_erf_grad(float x) {
  float z = std::fabs(x);
  float t = 1.0f / (1.0f + 0.3275911f * z);
  float p = t * (0.254829592f + t * (-0.284496736f + t * (1.421413741f + t * (-1.453152027f + t * 1.061405429f))));
  float r = 1.0f - p * fast_exp(-z * z);
  return x >= 0 ? r : -r;
}

}  // namespace birdvlm
