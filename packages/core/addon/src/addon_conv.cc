// N-API entry points of the convolution gathers (im2col.cc): im2col and its adjoint col2im.
#include <napi.h>

#include <cstdint>
#include <string>

#include "im2col.h"
#include "napi_util.h"

namespace birdvlm {
namespace {

using napi::F32;
using napi::Fail;
using napi::Ints;

/** Reads `[B, H, W, C, KH, KW, OH, OW, strideH, strideW, padTop, padLeft]` at argument 2; false after an error. */
bool ReadConvShape(const Napi::CallbackInfo& info, const std::string& op, ConvShape* s) {
  auto d = Ints(info, 2);
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
  im2col(x, cols, s);
  return env.Undefined();
}

// col2im(cols [B*OH*OW, KH*KW*C], dx [B,H,W,C], dims)
Napi::Value Col2im(const Napi::CallbackInfo& info) {
  auto env = info.Env();
  ConvShape s;
  float *cols, *dx;
  if (!ReadConvShape(info, "col2im", &s) || !F32(info, 0, s.B * s.OH * s.OW * s.KH * s.KW * s.C, &cols) ||
      !F32(info, 1, s.B * s.H * s.W * s.C, &dx))
    return env.Undefined();
  col2im(cols, dx, s);
  return env.Undefined();
}

}  // namespace

void register_conv(Napi::Env env, Napi::Object exports) {
  exports.Set("im2col", Napi::Function::New(env, Im2col));
  exports.Set("col2im", Napi::Function::New(env, Col2im));
}

}  // namespace birdvlm
