// The patch gathers behind the native 2-D convolution (NHWC, HWIO filters): im2col lays out every output pixel's
// receptive field as one row, so a convolution is one SGEMM; col2im is its adjoint, for the input gradient.
#pragma once
#include <cstdint>

namespace birdvlm {

/** A 2-D convolution's geometry: input [B, H, W, C], kernel KH x KW, output [B, OH, OW, *], stride, top/left pad. */
struct ConvShape {
  int64_t B, H, W, C, KH, KW, OH, OW, strideH, strideW, padTop, padLeft;
};

/** cols[(b, oy, ox), (ky, kx, c)] = x[b, oy*sH + ky - padTop, ox*sW + kx - padLeft, c], 0 outside the image. */
void im2col(const float* x, float* cols, const ConvShape& s);

/** dx[b, y, x, c] = Σ of cols entries that im2col read from (b, y, x, c): the adjoint of im2col. */
void col2im(const float* cols, float* dx, const ConvShape& s);

}  // namespace birdvlm
