// Vectorizable float approximations shared by the kernels (exp, erf), exact to a few ulp (erf: 4e-7 absolute).
#pragma once
#include <immintrin.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <algorithm>

namespace birdvlm {

// 2^n as a float, for whole n in [-126, 127].
inline float pow2i(int32_t n) {
  int32_t bits = (n + 127) << 23;
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

// exp(x) = p · 2^n for |x · log2 e| < 2^22: the range reduction and degree-6 polynomial (relative error ~2 ulp) of
// the exps below; returns p and sets n (a whole number).
inline float exp_mantissa(float x, float& n) {
  // Round to nearest (ties to even, as nearbyint) by adding and taking away 1.5 * 2^23: std::nearbyint is a libm
  // call that keeps every loop calling this scalar.
  n = (x * 1.44269504088896341f + 12582912.f) - 12582912.f;
  float r = x - n * 0.693359375f;
  r = r - n * -2.12194440e-4f;
  float p = 1.9875691500E-4f;
  p = p * r + 1.3981999507E-3f;
  p = p * r + 8.3334519073E-3f;
  p = p * r + 4.1665795894E-2f;
  p = p * r + 1.6666665459E-1f;
  p = p * r + 5.0000001201E-1f;
  return p * r * r + r + 1.0f;
}

// exp, vectorizable; the power of two is applied in two halves so results stay exact from the denormals up to
// FLT_MAX; NaN propagates.
inline float fast_exp(float x0) {
  float x = std::min(88.72283935546875f, std::max(-103.972084045410f, x0));
  float n;
  const float p = exp_mantissa(x, n);
  int32_t ni = static_cast<int32_t>(n);
  int32_t n1 = ni / 2;
  float y = p * pow2i(n1) * pow2i(ni - n1);
  y = x0 > 88.72283935546875f ? std::numeric_limits<float>::infinity() : y;
  y = x0 < -103.972084045410f ? 0.f : y;
  return x0 != x0 ? x0 : y;
}

// exp of x ≤ 0 (a softmax's x - max, a Gaussian's -z²/2): fast_exp's polynomial with a single power of two, so
// about a third cheaper; below -87.33 (where the result would leave the normal floats) it is 0, and NaN stays NaN.
constexpr float kExpNormalMin = -87.33654f;  // log(FLT_MIN): exp of anything lower is not a normal float
inline float exp_nonpositive(float x0) {
  const float x = std::max(kExpNormalMin, std::min(0.f, x0));
  float n;
  const float y = exp_mantissa(x, n) * pow2i(static_cast<int32_t>(n));
  return x0 != x0 ? x0 : (x0 < kExpNormalMin ? 0.f : y);
}

// exp_nonpositive on eight lanes with AVX2 + FMA: the same clamps, range reduction and polynomial, the products and
// sums fused (so within an ulp or two of the scalar form, not bit for bit).
__attribute__((target("avx2,fma"))) inline __m256 exp_nonpositive8(__m256 x0) {
  const __m256 x = _mm256_max_ps(_mm256_set1_ps(kExpNormalMin), _mm256_min_ps(x0, _mm256_setzero_ps()));
  const __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)),
                                   _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), x);
  r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), r);
  __m256 p = _mm256_set1_ps(1.9875691500E-4f);
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.3981999507E-3f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519073E-3f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1665795894E-2f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666665459E-1f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.0000001201E-1f));
  __m256 y = _mm256_add_ps(_mm256_fmadd_ps(_mm256_mul_ps(p, r), r, r), _mm256_set1_ps(1.0f));
  const __m256i pow2n = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
  y = _mm256_mul_ps(y, _mm256_castsi256_ps(pow2n));
  y = _mm256_andnot_ps(_mm256_cmp_ps(x0, _mm256_set1_ps(kExpNormalMin), _CMP_LT_OQ), y);  // below: 0
  return _mm256_blendv_ps(y, x0, _mm256_cmp_ps(x0, x0, _CMP_UNORD_Q));                    // NaN stays NaN
}

// erf as a rational function of x² on [-4, 4] (the approximation XLA and Eigen use for float erf; beyond ±4 erf
// is ±1 to float precision): absolute error below 4e-7, no exp and one division, about 3.5x faster than an
// erfc-based formula. Both GELU's forward and its gradient use it.
inline float fast_erf(float x0) {
  const float x = std::min(4.f, std::max(-4.f, x0));
  const float x2 = x * x;
  float p = -2.72614225801306e-10f;
  p = p * x2 + 2.77068142495902e-08f;
  p = p * x2 - 2.10102402082508e-06f;
  p = p * x2 - 5.69250639462346e-05f;
  p = p * x2 - 7.34990630326855e-04f;
  p = p * x2 - 2.95459980854025e-03f;
  p = p * x2 - 1.60960333262415e-02f;
  float q = -1.45660718464996e-05f;
  q = q * x2 - 2.13374055278905e-04f;
  q = q * x2 - 1.68282697438203e-03f;
  q = q * x2 - 7.37332916720468e-03f;
  q = q * x2 - 1.42647390514189e-02f;
  const float r = x * p / q;
  return x0 != x0 ? x0 : r;
}

// fast_erf on eight lanes with AVX2 + FMA (the same clamp and rational function, its products and sums fused).
__attribute__((target("avx2,fma"))) inline __m256 erf8(__m256 x0) {
  const __m256 x = _mm256_min_ps(_mm256_set1_ps(4.f), _mm256_max_ps(_mm256_set1_ps(-4.f), x0));
  const __m256 x2 = _mm256_mul_ps(x, x);
  __m256 p = _mm256_set1_ps(-2.72614225801306e-10f);
  p = _mm256_fmadd_ps(p, x2, _mm256_set1_ps(2.77068142495902e-08f));
  p = _mm256_fmadd_ps(p, x2, _mm256_set1_ps(-2.10102402082508e-06f));
  p = _mm256_fmadd_ps(p, x2, _mm256_set1_ps(-5.69250639462346e-05f));
  p = _mm256_fmadd_ps(p, x2, _mm256_set1_ps(-7.34990630326855e-04f));
  p = _mm256_fmadd_ps(p, x2, _mm256_set1_ps(-2.95459980854025e-03f));
  p = _mm256_fmadd_ps(p, x2, _mm256_set1_ps(-1.60960333262415e-02f));
  __m256 q = _mm256_set1_ps(-1.45660718464996e-05f);
  q = _mm256_fmadd_ps(q, x2, _mm256_set1_ps(-2.13374055278905e-04f));
  q = _mm256_fmadd_ps(q, x2, _mm256_set1_ps(-1.68282697438203e-03f));
  q = _mm256_fmadd_ps(q, x2, _mm256_set1_ps(-7.37332916720468e-03f));
  q = _mm256_fmadd_ps(q, x2, _mm256_set1_ps(-1.42647390514189e-02f));
  const __m256 r = _mm256_div_ps(_mm256_mul_ps(x, p), q);
  return _mm256_blendv_ps(r, x0, _mm256_cmp_ps(x0, x0, _CMP_UNORD_Q));  // NaN stays NaN
}

// GELU (erf form) and its derivative on eight lanes: z · Φ(z), and Φ(z) + z · φ(z), as the scalar forms in
// elementwise.cc.
__attribute__((target("avx2,fma"))) inline __m256 gelu_erf8(__m256 z) {
  const __m256 e = erf8(_mm256_mul_ps(z, _mm256_set1_ps(0.70710678118654752f)));
  return _mm256_mul_ps(_mm256_mul_ps(_mm256_set1_ps(0.5f), z), _mm256_add_ps(_mm256_set1_ps(1.f), e));
}
__attribute__((target("avx2,fma"))) inline __m256 gelu_erf_grad8(__m256 z) {
  const __m256 half = _mm256_set1_ps(0.5f);
  const __m256 cdf = _mm256_fmadd_ps(half, erf8(_mm256_mul_ps(z, _mm256_set1_ps(0.70710678118654752f))), half);
  const __m256 pdf = _mm256_mul_ps(_mm256_set1_ps(0.39894228040143268f),
                                   exp_nonpositive8(_mm256_mul_ps(_mm256_set1_ps(-0.5f), _mm256_mul_ps(z, z))));
  return _mm256_fmadd_ps(z, pdf, cdf);
}

// The first n % 8 lanes set (for the masked loads and stores of a row's last partial vector).
__attribute__((target("avx2"))) inline __m256i tail_mask8(int64_t n) {
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(n & 7)), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

}  // namespace birdvlm
