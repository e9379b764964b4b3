#include "depthwise.h"

#include <algorithm>
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

/** The input row of tap ky for output row oy, or -1 when it falls in the padding. */
inline int64_t input_row(const ConvShape& s, int64_t oy, int64_t ky) {
  const int64_t y = oy * s.strideH + ky - s.padTop;
  return y < 0 || y >= s.H ? -1 : y;
}

inline int64_t input_col(const ConvShape& s, int64_t ox, int64_t kx) {
  const int64_t x = ox * s.strideW + kx - s.padLeft;
  return x < 0 || x >= s.W ? -1 : x;
}

}  // namespace

void depthwise_conv(const float* x, const float* w, float* y, const ConvShape& s) {
  const int64_t C = s.C;
  // One task per output row (b, oy): it writes only its own row of y.
  parallel_for(s.B * s.OH, std::max<int64_t>(1, (1 << 14) / std::max<int64_t>(s.OW * C * s.KH * s.KW, 1)),
               [&](int64_t r0, int64_t r1) {
                 for (int64_t r = r0; r < r1; r++) {
                   const int64_t b = r / s.OH, oy = r % s.OH;
                   float* out = y + r * s.OW * C;
                   std::memset(out, 0, sizeof(float) * s.OW * C);
                   for (int64_t ky = 0; ky < s.KH; ky++) {
                     const int64_t iy = input_row(s, oy, ky);
                     if (iy < 0) continue;
                     const float* src = x + (b * s.H + iy) * s.W * C;
                     for (int64_t ox = 0; ox < s.OW; ox++)
                       for (int64_t kx = 0; kx < s.KW; kx++) {
                         const int64_t ix = input_col(s, ox, kx);
                         if (ix >= 0) fma_row(out + ox * C, src + ix * C, w + (ky * s.KW + kx) * C, C);
                       }
                   }
                 }
               });
}

void depthwise_conv_grad_input(const float* dy, const float* w, float* dx, const ConvShape& s) {
  const int64_t C = s.C;
  // One task per image: the taps of one image's outputs land only in that image.
  parallel_for(s.B, 1, [&](int64_t b0, int64_t b1) {
    for (int64_t b = b0; b < b1; b++) {
      float* img = dx + b * s.H * s.W * C;
      std::memset(img, 0, sizeof(float) * s.H * s.W * C);
      for (int64_t oy = 0; oy < s.OH; oy++)
        for (int64_t ky = 0; ky < s.KH; ky++) {
          const int64_t iy = input_row(s, oy, ky);
          if (iy < 0) continue;
          const float* g = dy + (b * s.OH + oy) * s.OW * C;
          float* dst = img + iy * s.W * C;
          for (int64_t ox = 0; ox < s.OW; ox++)
            for (int64_t kx = 0; kx < s.KW; kx++) {
              const int64_t ix = input_col(s, ox, kx);
              if (ix >= 0) fma_row(dst + ix * C, g + ox * C, w + (ky * s.KW + kx) * C, C);
            }
        }
    }
  });
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
