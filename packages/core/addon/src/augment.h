// The data pipeline's augmentation of stored uint8 pixels (@birdvlm/data's `augmentInto` and `writeNormalized`),
// in the same double-precision arithmetic, operation for operation, so the results are those of the JavaScript to
// the bit; about 10x faster, for the decoded-pixel cache's loader.
#pragma once
#include <cstdint>

namespace birdvlm {

/**
 * Resamples the region (left, top, rw, rh) of RGB bytes `src` [H, W, 3] to [S, S, 3] floats in `out` (bilinear,
 * pixel centres, edges clamped; horizontal weights rounded to float as the JavaScript keeps them) and returns the
 * sum of the resampled pixels' luma (0.299, 0.587, 0.114) on the 0..255 scale.
 */
double resample_crop(const uint8_t* src, int W, int H, double left, double top, double rw, double rh, int S, float* out);

/**
 * out[offset + y, x'] = ((m · in[y, x] + c), clamped to [0, 1] when `clamp`, − mean) · invStd, x' = x or, mirrored,
 * S − 1 − x: `m` 9 doubles row-major, `c`, `mean`, `invStd` 3 each.
 */
void normalize_pixels(const float* in, int S, const double* m, const double* c, bool clamp, const double* mean,
                      const double* invStd, bool flipped, float* out);

}  // namespace birdvlm
