// N-API entry points of the convolution gathers (im2col.cc): im2col and its adjoint col2im; and of the depthwise
// convolution and its gradients (depthwise.cc).
#include <napi.h>

#include <cstdint>
#include <string>

#include "depthwise.h"
#include "im2col.h"
#include "napi_util.h"

namespace birdvlm {
namespace {

using napi::F32;
using napi::Fail;
using napi::Ints;

/** Reads `[B, H, W, C, KH, KW, OH, OW, strideH, strideW, padTop, padLeft]` at argument `at`; false after an error. */
bool ReadConvShape(const Napi::CallbackInfo& info, const std::string& op, ConvShape* s, int at = 2) {
  auto d = Ints(info, at);
  if (d.size() != 12) return Fail(info.Env(), op + ": dims must be [B, H, W, C, KH, KW, OH, OW, sH, sW, padTop, padLeft]");
  for (int i = 0; i < 10; i++)
    if (d[i] < (i < 8 ? 0 : 1)) return Fail(info.Env(), op + ": bad size " + std::to_string(d[i]) + " at dims[" + std::to_string(i) + "]");
  *s = {d[0], d[1], d[2], d[3], d[4], d[5], d[6], d[7], d[8], d[9], d[10], d[11]};
  return true;
}

// im2col(x [B,H,W,C], cols [B*OH*OW, KH*KW*C], dims)
Napi::Value Im2col(const Napi::CallbackInfo& info) {
  auto env = info.Env();
  ConvShape s;
  float *x, *cols;
  if (!ReadConvShape(info, "im2col", &s) || !F32(info, 0, s.B * s.H * s.W * s.C, &x) ||
      !F32(info, 1, s.B * s.OH * s.OW * s.KH * s.KW * s.C, &cols))
    return env.Undefined();
  return napi::Launch(env, [=] { im2col(x, cols, s); });
}

// col2im(cols [B*OH*OW, KH*KW*C], dx [B,H,W,C], dims)
Napi::Value Col2im(const Napi::CallbackInfo& info) {
  auto env = info.Env();
  ConvShape s;
  float *cols, *dx;
  if (!ReadConvShape(info, "col2im", &s) || !F32(info, 0, s.B * s.OH * s.OW * s.KH * s.KW * s.C, &cols) ||
      !F32(info, 1, s.B * s.H * s.W * s.C, &dx))
    return env.Undefined();
  return napi::Launch(env, [=] { col2im(cols, dx, s); });
}

using DepthwiseFn = void (*)(const float*, const float*, float*, const ConvShape&);

/** Sizes of a depthwise argument: x (the input), y (the output), w (the filter). */
enum class Dw { X, Y, W };

int64_t DwSize(const ConvShape& s, Dw which) {
  return which == Dw::X ? s.B * s.H * s.W * s.C : which == Dw::Y ? s.B * s.OH * s.OW * s.C : s.KH * s.KW * s.C;
}

/** (a, b, out, dims) → fn(a, b, out, shape), each array checked against its size in the shape. */
Napi::Value Depthwise(const Napi::CallbackInfo& info, const char* op, DepthwiseFn fn, Dw a, Dw b, Dw out) {
  auto env = info.Env();
  ConvShape s;
  float *pa, *pb, *po;
  if (!ReadConvShape(info, op, &s, 3) || !F32(info, 0, DwSize(s, a), &pa) || !F32(info, 1, DwSize(s, b), &pb) ||
      !F32(info, 2, DwSize(s, out), &po))
    return env.Undefined();
  return napi::Launch(env, [=] { fn(pa, pb, po, s); });
}

// depthwiseConv(x [B,H,W,C], w [KH,KW,C], y [B,OH,OW,C], dims)
Napi::Value DepthwiseConv(const Napi::CallbackInfo& info) {
  return Depthwise(info, "depthwiseConv", depthwise_conv, Dw::X, Dw::W, Dw::Y);
}

// depthwiseConvGradInput(dy [B,OH,OW,C], w [KH,KW,C], dx [B,H,W,C], dims)
Napi::Value DepthwiseConvGradInput(const Napi::CallbackInfo& info) {
  return Depthwise(info, "depthwiseConvGradInput", depthwise_conv_grad_input, Dw::Y, Dw::W, Dw::X);
}

// depthwiseConvGradFilter(x [B,H,W,C], dy [B,OH,OW,C], dw [KH,KW,C], dims)
Napi::Value DepthwiseConvGradFilter(const Napi::CallbackInfo& info) {
  return Depthwise(info, "depthwiseConvGradFilter", depthwise_conv_grad_filter, Dw::X, Dw::Y, Dw::W);
}

}  // namespace

void register_conv(Napi::Env env, Napi::Object exports) {
  exports.Set("im2col", Napi::Function::New(env, Im2col));
  exports.Set("col2im", Napi::Function::New(env, Col2im));
  exports.Set("depthwiseConv", Napi::Function::New(env, DepthwiseConv));
  exports.Set("depthwiseConvGradInput", Napi::Function::New(env, DepthwiseConvGradInput));
  exports.Set("depthwiseConvGradFilter", Napi::Function::New(env, DepthwiseConvGradFilter));
}

}  // namespace birdvlm
