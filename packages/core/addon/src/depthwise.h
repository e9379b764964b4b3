// Depthwise 2-D convolution (NHWC, a [KH, KW, C] filter: channel multiplier 1, no dilation) and its two
// gradients, vectorized over the channels, which are contiguous in NHWC.
#pragma once
#include <cstdint>

#include "im2col.h"

namespace birdvlm {

/** y[b, oy, ox, c] = Σ_{ky,kx} x[b, oy*sH + ky - padTop, ox*sW + kx - padLeft, c] · w[ky, kx, c] (0 outside). */
void depthwise_conv(const float* x, const float* w, float* y, const ConvShape& s);

/** dx = the adjoint of {@link depthwise_conv} in x, given dy [B, OH, OW, C] (dx overwritten). */
void depthwise_conv_grad_input(const float* dy, const float* w, float* dx, const ConvShape& s);

/** dw[ky, kx, c] = Σ_{b,oy,ox} x[b, ...same position as the forward..., c] · dy[b, oy, ox, c] (dw overwritten). */
void depthwise_conv_grad_filter(const float* x, const float* dy, float* dw, const ConvShape& s);

}  // namespace birdvlm
