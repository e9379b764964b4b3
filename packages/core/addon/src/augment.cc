#include "augment.h"

#include <cmath>
#include <vector>

namespace birdvlm {

namespace {

// Where output pixel i's centre falls in the source (start + (i + 0.5) · scale − 0.5), clamped to [0, size − 1].
__attribute__((optimize("fp-contract=off"))) inline double source_position(double start, int i, double scale, int size) {
  double f = start + (i + 0.5) * scale - 0.5;
  if (f < 0) f = 0;
  if (f > size - 1) f = size - 1;
  return f;
}

}  // namespace

__attribute__((optimize("fp-contract=off"))) double resample_crop(const uint8_t* src, int W, int H, double left, double top, double rw, double rh, int S, float* out) {
  thread_local std::vector<int32_t> xIndex;
  thread_local std::vector<float> xWeight;
  xIndex.resize(2 * static_cast<size_t>(S));
  xWeight.resize(S);
  const double sx = rw / S;
  for (int x = 0; x < S; x++) {
    const double f = source_position(left, x, sx, W);
    const double x0 = std::floor(f);
    const int32_t x0i = static_cast<int32_t>(x0);
    const int32_t x1 = x0i + 1 < W ? x0i + 1 : x0i;
    xIndex[2 * x] = x0i * 3;
    xIndex[2 * x + 1] = x1 * 3;
    xWeight[x] = static_cast<float>(f - x0);
  }
  const double sy = rh / S;
  const double L0 = 0.299, L1 = 0.587, L2 = 0.114;
  double lumaSum = 0;
  for (int y = 0; y < S; y++) {
    const double f = source_position(top, y, sy, H);
    const double y0d = std::floor(f);
    const int64_t y0 = static_cast<int64_t>(y0d);
    const int64_t y1 = y0 + 1 < H ? y0 + 1 : y0;
    const double wy = f - y0d;
    const uint8_t* r0 = src + y0 * W * 3;
    const uint8_t* r1 = src + y1 * W * 3;
    float* o = out + static_cast<int64_t>(y) * S * 3;
    for (int x = 0; x < S; x++, o += 3) {
      const int32_t a = xIndex[2 * x], b = xIndex[2 * x + 1];
      const double wx = xWeight[x];
      double rgb[3];
      for (int ch = 0; ch < 3; ch++) {
        const double p00 = r0[a + ch], p01 = r0[b + ch], p10 = r1[a + ch], p11 = r1[b + ch];
        const double t = p00 + (p01 - p00) * wx;
        rgb[ch] = t + (p10 + (p11 - p10) * wx - t) * wy;
        o[ch] = static_cast<float>(rgb[ch]);
      }
      lumaSum += L0 * rgb[0] + L1 * rgb[1] + L2 * rgb[2];
    }
  }
  return lumaSum;
}

__attribute__((optimize("fp-contract=off"))) void normalize_pixels(const float* in, int S, const double* m, const double* c, bool clamp, const double* mean,
                      const double* invStd, bool flipped, float* out) {
  const int64_t step = flipped ? -3 : 3;
  for (int y = 0; y < S; y++) {
    const float* i = in + static_cast<int64_t>(y) * S * 3;
    float* j = out + (static_cast<int64_t>(y) * S + (flipped ? S - 1 : 0)) * 3;
    for (int x = 0; x < S; x++, i += 3, j += step) {
      const double r = i[0], g = i[1], b = i[2];
      double u = m[0] * r + m[1] * g + m[2] * b + c[0];
      double v = m[3] * r + m[4] * g + m[5] * b + c[1];
      double w = m[6] * r + m[7] * g + m[8] * b + c[2];
      if (clamp) {
        u = u < 0 ? 0 : u > 1 ? 1 : u;
        v = v < 0 ? 0 : v > 1 ? 1 : v;
        w = w < 0 ? 0 : w > 1 ? 1 : w;
      }
      j[0] = static_cast<float>((u - mean[0]) * invStd[0]);
      j[1] = static_cast<float>((v - mean[1]) * invStd[1]);
      j[2] = static_cast<float>((w - mean[2]) * invStd[2]);
    }
  }
}

}  // namespace birdvlm
