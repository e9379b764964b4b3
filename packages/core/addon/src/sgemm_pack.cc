#include "sgemm_pack.h"

#include <immintrin.h>

namespace birdvlm {

namespace {

// Rows r[0..7] in, columns out: out[i][j] = r[j][i] (unpack pairs, shuffle quads, swap 128-bit halves).
__attribute__((target("avx2"))) inline void transpose8(const __m256 r[8], __m256 out[8]) {
  __m256 t[8], s[8];
  for (int i = 0; i < 4; i++) {
    t[2 * i] = _mm256_unpacklo_ps(r[2 * i], r[2 * i + 1]);
    t[2 * i + 1] = _mm256_unpackhi_ps(r[2 * i], r[2 * i + 1]);
  }
  for (int i = 0; i < 2; i++) {
    s[4 * i] = _mm256_shuffle_ps(t[4 * i], t[4 * i + 2], _MM_SHUFFLE(1, 0, 1, 0));
    s[4 * i + 1] = _mm256_shuffle_ps(t[4 * i], t[4 * i + 2], _MM_SHUFFLE(3, 2, 3, 2));
    s[4 * i + 2] = _mm256_shuffle_ps(t[4 * i + 1], t[4 * i + 3], _MM_SHUFFLE(1, 0, 1, 0));
    s[4 * i + 3] = _mm256_shuffle_ps(t[4 * i + 1], t[4 * i + 3], _MM_SHUFFLE(3, 2, 3, 2));
  }
  for (int i = 0; i < 4; i++) {
    out[i] = _mm256_permute2f128_ps(s[i], s[i + 4], 0x20);
    out[i + 4] = _mm256_permute2f128_ps(s[i], s[i + 4], 0x31);
  }
}

}  // namespace

__attribute__((target("avx2"))) void pack6_rows_avx2(const float* src, int64_t lda, int kc, float* dst) {
  int k = 0;
  __m256 r[8], out[8];
  r[6] = r[7] = _mm256_setzero_ps();
  for (; k + 8 <= kc; k += 8) {
    for (int i = 0; i < 6; i++) r[i] = _mm256_loadu_ps(src + i * lda + k);
    transpose8(r, out);
    // In depth order; each store's last two floats (rows 6 and 7, zeros) are overwritten by the next one.
    for (int i = 0; i < 8; i++) _mm256_storeu_ps(dst + (k + i) * 6, out[i]);
  }
  for (; k < kc; k++)
    for (int i = 0; i < 6; i++) dst[k * 6 + i] = src[i * lda + k];
}

__attribute__((target("avx2"))) void pack16_cols_avx2(const float* src, int64_t ldb, int kc, float* dst) {
  int k = 0;
  __m256 r[8], lo[8], hi[8];
  for (; k + 8 <= kc; k += 8) {
    for (int i = 0; i < 8; i++) r[i] = _mm256_loadu_ps(src + i * ldb + k);
    transpose8(r, lo);
    for (int i = 0; i < 8; i++) r[i] = _mm256_loadu_ps(src + (i + 8) * ldb + k);
    transpose8(r, hi);
    for (int i = 0; i < 8; i++) {
      _mm256_store_ps(dst + (k + i) * 16, lo[i]);
      _mm256_store_ps(dst + (k + i) * 16 + 8, hi[i]);
    }
  }
  for (; k < kc; k++)
    for (int c = 0; c < 16; c++) dst[k * 16 + c] = src[c * ldb + k];
}

__attribute__((target("avx2"))) void pack16_rows_avx2(const float* src, int64_t ldb, int kc, float* dst) {
  for (int k = 0; k < kc; k++, src += ldb, dst += 16) {
    _mm_prefetch(reinterpret_cast<const char*>(src + 8 * ldb), _MM_HINT_T0);
    _mm_prefetch(reinterpret_cast<const char*>(src + 8 * ldb + 15), _MM_HINT_T0);
    _mm256_store_ps(dst, _mm256_loadu_ps(src));
    _mm256_store_ps(dst + 8, _mm256_loadu_ps(src + 8));
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
