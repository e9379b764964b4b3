#include "im2col.h"

#include <algorithm>
#include <cstring>

#include "thread_pool.h"

namespace birdvlm {

void im2col(const float* x, float* cols, const ConvShape& s) {
  const int64_t K = s.KH * s.KW * s.C;
  // One task per output row (b, oy): it writes only its OW rows of cols.
  parallel_for(s.B * s.OH, std::max<int64_t>(1, (1 << 14) / std::max<int64_t>(s.OW * K, 1)), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; r++) {
      const int64_t b = r / s.OH, oy = r % s.OH;
      float* row = cols + r * s.OW * K;
      for (int64_t ox = 0; ox < s.OW; ox++, row += K) {
        for (int64_t ky = 0; ky < s.KH; ky++) {
          const int64_t y = oy * s.strideH + ky - s.padTop;
          float* dst = row + ky * s.KW * s.C;
          if (y < 0 || y >= s.H) {
            std::memset(dst, 0, sizeof(float) * s.KW * s.C);
            continue;
          }
          const float* src = x + ((b * s.H + y) * s.W) * s.C;
          for (int64_t kx = 0; kx < s.KW; kx++) {
            const int64_t xx = ox * s.strideW + kx - s.padLeft;
            if (xx < 0 || xx >= s.W)
              std::memset(dst + kx * s.C, 0, sizeof(float) * s.C);
            else
              std::memcpy(dst + kx * s.C, src + xx * s.C, sizeof(float) * s.C);
          }
        }
      }
    }
  });
}

void col2im(const float* cols, float* dx, const ConvShape& s) {
  const int64_t K = s.KH * s.KW * s.C;
  // One task per image: the receptive fields of one image's outputs overlap only within it.
  parallel_for(s.B, 1, [&](int64_t b0, int64_t b1) {
    for (int64_t b = b0; b < b1; b++) {
      float* img = dx + b * s.H * s.W * s.C;
      std::memset(img, 0, sizeof(float) * s.H * s.W * s.C);
      const float* row = cols + b * s.OH * s.OW * K;
      for (int64_t oy = 0; oy < s.OH; oy++)
        for (int64_t ox = 0; ox < s.OW; ox++, row += K)
          for (int64_t ky = 0; ky < s.KH; ky++) {
            const int64_t y = oy * s.strideH + ky - s.padTop;
            if (y < 0 || y >= s.H) continue;
            for (int64_t kx = 0; kx < s.KW; kx++) {
              const int64_t xx = ox * s.strideW + kx - s.padLeft;
              if (xx < 0 || xx >= s.W) continue;
              float* dst = img + (y * s.W + xx) * s.C;
              const float* src = row + (ky * s.KW + kx) * s.C;
              for (int64_t c = 0; c < s.C; c++) dst[c] += src[c];
            }
          }
    }
  });
}

}  // namespace birdvlm
