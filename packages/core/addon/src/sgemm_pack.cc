#include "sgemm_pack.h"

#include <immintrin.h>

namespace birdvlm {

__attribute__((target("avx2"))) void pack6_rows_avx2(const float* src, int64_t lda, int kc, float* dst) {
  const float* r0 = src;
  const float* r1 = src + lda;
  const float* r2 = src + 2 * lda;
  const float* r3 = src + 3 * lda;
  const float* r4 = src + 4 * lda;
  const float* r5 = src + 5 * lda;
  const __m256 zero = _mm256_setzero_ps();
  int k = 0;
  for (; k + 8 <= kc; k += 8) {
    // Rows 0..5 (and two of zeros) in, depths k..k+7 out: unpack pairs, shuffle quads, swap 128-bit halves.
    const __m256 t0 = _mm256_unpacklo_ps(_mm256_loadu_ps(r0 + k), _mm256_loadu_ps(r1 + k));
    const __m256 t1 = _mm256_unpackhi_ps(_mm256_loadu_ps(r0 + k), _mm256_loadu_ps(r1 + k));
    const __m256 t2 = _mm256_unpacklo_ps(_mm256_loadu_ps(r2 + k), _mm256_loadu_ps(r3 + k));
    const __m256 t3 = _mm256_unpackhi_ps(_mm256_loadu_ps(r2 + k), _mm256_loadu_ps(r3 + k));
    const __m256 t4 = _mm256_unpacklo_ps(_mm256_loadu_ps(r4 + k), _mm256_loadu_ps(r5 + k));
    const __m256 t5 = _mm256_unpackhi_ps(_mm256_loadu_ps(r4 + k), _mm256_loadu_ps(r5 + k));
    const __m256 s0 = _mm256_shuffle_ps(t0, t2, _MM_SHUFFLE(1, 0, 1, 0));
    const __m256 s1 = _mm256_shuffle_ps(t0, t2, _MM_SHUFFLE(3, 2, 3, 2));
    const __m256 s2 = _mm256_shuffle_ps(t1, t3, _MM_SHUFFLE(1, 0, 1, 0));
    const __m256 s3 = _mm256_shuffle_ps(t1, t3, _MM_SHUFFLE(3, 2, 3, 2));
    const __m256 s4 = _mm256_shuffle_ps(t4, zero, _MM_SHUFFLE(1, 0, 1, 0));
    const __m256 s5 = _mm256_shuffle_ps(t4, zero, _MM_SHUFFLE(3, 2, 3, 2));
    const __m256 s6 = _mm256_shuffle_ps(t5, zero, _MM_SHUFFLE(1, 0, 1, 0));
    const __m256 s7 = _mm256_shuffle_ps(t5, zero, _MM_SHUFFLE(3, 2, 3, 2));
    // In depth order; each store's last two floats are overwritten by the next one.
    float* d = dst + k * 6;
    _mm256_storeu_ps(d, _mm256_permute2f128_ps(s0, s4, 0x20));
    _mm256_storeu_ps(d + 6, _mm256_permute2f128_ps(s1, s5, 0x20));
    _mm256_storeu_ps(d + 12, _mm256_permute2f128_ps(s2, s6, 0x20));
    _mm256_storeu_ps(d + 18, _mm256_permute2f128_ps(s3, s7, 0x20));
    _mm256_storeu_ps(d + 24, _mm256_permute2f128_ps(s0, s4, 0x31));
    _mm256_storeu_ps(d + 30, _mm256_permute2f128_ps(s1, s5, 0x31));
    _mm256_storeu_ps(d + 36, _mm256_permute2f128_ps(s2, s6, 0x31));
    _mm256_storeu_ps(d + 42, _mm256_permute2f128_ps(s3, s7, 0x31));
  }
  for (; k < kc; k++) {
    float* d = dst + k * 6;
    d[0] = r0[k];
    d[1] = r1[k];
    d[2] = r2[k];
    d[3] = r3[k];
    d[4] = r4[k];
    d[5] = r5[k];
  }
}

__attribute__((target("avx2"))) void pack6_cols_avx2(const float* src, int64_t lda, int kc, float* dst) {
  // The two extra floats of depth k < kc - 1 lie in A (at worst at the start of the next row); the last depth is
  // copied one by one, as it may end A.
  int k = 0;
  for (; k + 1 < kc; k++) _mm256_storeu_ps(dst + k * 6, _mm256_loadu_ps(src + k * lda));
  for (int r = 0; r < 6; r++) dst[k * 6 + r] = src[k * lda + r];
}

}  // namespace birdvlm
