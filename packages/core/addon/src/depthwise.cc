#include "depthwise.h"

#include <immintrin.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "thread_pool.h"

namespace birdvlm {
namespace {

#define BIRDVLM_SIMD __attribute__((target_clones("avx512f", "avx2", "default")))

/** acc[c] += a[c] · b[c] for c in [0, n). */
BIRDVLM_SIMD void fma_row(float* __restrict acc, const float* __restrict a, const float* __restrict b, int64_t n) {
#pragma omp simd
  for (int64_t c = 0; c < n; c++) acc[c] += a[c] * b[c];
}

/**
 * out[c] = Σ_t src[t][c] · w[t][c] for c in [0, C), the taps added in the order listed, each product rounded before
 * it is added (as the multiply-then-add the vectorizer makes of `acc += a * b` here): each output written once.
 */
BIRDVLM_SIMD void sum_taps_any(float* __restrict out, const float* const* src, const float* const* w, int taps,
                               int64_t C) {
  for (int64_t c = 0; c < C; c++) out[c] = 0.f;
  for (int t = 0; t < taps; t++) fma_row(out, src[t], w[t], C);
}

/** {@link sum_taps_any} on AVX2, 32 channels at a time in four registers (no zeroing or re-reading of out). */
__attribute__((target("avx2"))) void sum_taps_avx2(float* __restrict out, const float* const* src,
                                                   const float* const* w, int taps, int64_t C) {
  int64_t c0 = 0;
  for (; c0 + 32 <= C; c0 += 32) {
    __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
    for (int t = 0; t < taps; t++) {
      const float* x = src[t] + c0;
      const float* k = w[t] + c0;
      a0 = _mm256_add_ps(a0, _mm256_mul_ps(_mm256_loadu_ps(x), _mm256_loadu_ps(k)));
      a1 = _mm256_add_ps(a1, _mm256_mul_ps(_mm256_loadu_ps(x + 8), _mm256_loadu_ps(k + 8)));
      a2 = _mm256_add_ps(a2, _mm256_mul_ps(_mm256_loadu_ps(x + 16), _mm256_loadu_ps(k + 16)));
      a3 = _mm256_add_ps(a3, _mm256_mul_ps(_mm256_loadu_ps(x + 24), _mm256_loadu_ps(k + 24)));
    }
    _mm256_storeu_ps(out + c0, a0);
    _mm256_storeu_ps(out + c0 + 8, a1);
    _mm256_storeu_ps(out + c0 + 16, a2);
    _mm256_storeu_ps(out + c0 + 24, a3);
  }
  for (; c0 < C; c0++) {
    float acc = 0.f;
    for (int t = 0; t < taps; t++) {
      acc += src[t][c0] * w[t][c0];  // no FMA in this target: rounded, then added, as the generic path
    }
    out[c0] = acc;
  }
}

/** Whether the AVX2 path runs (BIRDVLM_NO_AVX2 turns it off, as for the other kernels). */
bool use_avx2() {
  static const bool yes = !std::getenv("BIRDVLM_NO_AVX2") && __builtin_cpu_supports("avx2");
  return yes;
}

void sum_taps(float* out, const float* const* src, const float* const* w, int taps, int64_t C) {
  if (use_avx2())
    sum_taps_avx2(out, src, w, taps, C);
  else
    sum_taps_any(out, src, w, taps, C);
}

/** The input row of tap ky for output row oy, or -1 when it falls in the padding. */
inline int64_t input_row(const ConvShape& s, int64_t oy, int64_t ky) {
  const int64_t y = oy * s.strideH + ky - s.padTop;
  return y < 0 || y >= s.H ? -1 : y;
}

inline int64_t input_col(const ConvShape& s, int64_t ox, int64_t kx) {
  const int64_t x = ox * s.strideW + kx - s.padLeft;
  return x < 0 || x >= s.W ? -1 : x;
}

/** The output index o with o·stride = t, or -1 when t is not such a multiple within [0, n). */
inline int64_t output_index(int64_t t, int64_t stride, int64_t n) {
  return t < 0 || t % stride != 0 || t / stride >= n ? -1 : t / stride;
}

/**
 * The loop of both gathers: every pixel (y, x) of out `[B, rows, cols, C]`, one task per row, written once as the
 * sum over the taps (ky, kx) — ascending, or descending when `reversed` — whose source row `row(y, ky)` and column
 * `col(x, kx)` are not -1, of src `[B, srcRows, srcCols, C]` at that place times w[ky, kx].
 */
template <class Row, class Col>
void gather_taps(const float* src, int64_t srcRows, int64_t srcCols, const float* w, float* out, int64_t rows,
                 int64_t cols, const ConvShape& s, bool reversed, Row row, Col col) {
  const int64_t C = s.C, K = s.KH * s.KW;
  parallel_for(s.B * rows, std::max<int64_t>(1, (1 << 14) / std::max<int64_t>(cols * C * K, 1)),
               [&](int64_t r0, int64_t r1) {
                 std::vector<const float*> from(K), taps(K);
                 for (int64_t r = r0; r < r1; r++) {
                   const int64_t b = r / rows, y = r % rows;
                   for (int64_t x = 0; x < cols; x++) {
                     int n = 0;
                     for (int64_t i = 0; i < K; i++) {
                       const int64_t t = reversed ? K - 1 - i : i;
                       const int64_t sy = row(y, t / s.KW), sx = col(x, t % s.KW);
                       if (sy < 0 || sx < 0) continue;
                       from[n] = src + ((b * srcRows + sy) * srcCols + sx) * C;
                       taps[n++] = w + t * C;
                     }
                     sum_taps(out + (r * cols + x) * C, from.data(), taps.data(), n, C);
                   }
                 }
               });
}

}  // namespace

void depthwise_conv(const float* x, const float* w, float* y, const ConvShape& s) {
  // Each output pixel sums its taps in (ky, kx) order.
  gather_taps(x, s.H, s.W, w, y, s.OH, s.OW, s, false, [&](int64_t oy, int64_t ky) { return input_row(s, oy, ky); },
              [&](int64_t ox, int64_t kx) { return input_col(s, ox, kx); });
}

void depthwise_conv_grad_input(const float* dy, const float* w, float* dx, const ConvShape& s) {
  // dx[b, iy, ix] sums dy[b, oy, ox] · w[ky, kx] over the taps that read it (oy·sH + ky − padTop = iy, likewise x),
  // in descending (ky, kx): ascending (oy, ox), the order a scatter over the outputs would add them in.
  gather_taps(dy, s.OH, s.OW, w, dx, s.H, s.W, s, true,
              [&](int64_t iy, int64_t ky) { return output_index(iy + s.padTop - ky, s.strideH, s.OH); },
              [&](int64_t ix, int64_t kx) { return output_index(ix + s.padLeft - kx, s.strideW, s.OW); });
}

void depthwise_conv_grad_filter(const float* x, const float* dy, float* dw, const ConvShape& s) {
  const int64_t C = s.C, taps = s.KH * s.KW;
  // Each task sums over a fixed block of images into its own partial filter, and the partials are added in block
  // order. The blocks depend on the batch alone, so the result is the same for any thread count and schedule.
  constexpr int64_t kBlocks = 8;
  const int64_t blocks = std::min<int64_t>(s.B, kBlocks);
  std::vector<float> partial(blocks * taps * C, 0.f);
  parallel_for(blocks, 1, [&](int64_t k0, int64_t k1) {
    for (int64_t k = k0; k < k1; k++) {
      float* acc = partial.data() + k * taps * C;
      for (int64_t b = k * s.B / blocks; b < (k + 1) * s.B / blocks; b++)
        for (int64_t oy = 0; oy < s.OH; oy++)
          for (int64_t ky = 0; ky < s.KH; ky++) {
            const int64_t iy = input_row(s, oy, ky);
            if (iy < 0) continue;
            const float* g = dy + (b * s.OH + oy) * s.OW * C;
            const float* src = x + (b * s.H + iy) * s.W * C;
            for (int64_t ox = 0; ox < s.OW; ox++)
              for (int64_t kx = 0; kx < s.KW; kx++) {
                const int64_t ix = input_col(s, ox, kx);
                if (ix >= 0) fma_row(acc + (ky * s.KW + kx) * C, src + ix * C, g + ox * C, C);
              }
          }
    }
  });
  std::memset(dw, 0, sizeof(float) * taps * C);
  for (int64_t k = 0; k < blocks; k++) {
    const float* p = partial.data() + k * taps * C;
    for (int64_t i = 0; i < taps * C; i++) dw[i] += p[i];
  }
}

}  // namespace birdvlm
