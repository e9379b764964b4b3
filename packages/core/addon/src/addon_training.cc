// N-API entry points of the training kernels: the fused backward of bias + activation and of the row norms, and
// the AdamW update. Inputs are read, outputs written in place; sizes are checked here.
#include <napi.h>

#include <algorithm>

#include "elementwise.h"
#include "napi_util.h"
#include "training.h"

namespace birdvlm {
namespace {

using namespace napi;

// biasActivationGrad(dy, x, bias | null, dx, dbias | null, rows, n, act)
Napi::Value BiasActivationGrad(const Napi::CallbackInfo& info) {
  auto env = info.Env();
  const int64_t rows = Int(info, 5), n = Int(info, 6), act = Int(info, 7);
  if (rows < 0 || n < 0) return Fail(env, "biasActivationGrad: negative size"), env.Undefined();
  if (act != static_cast<int>(Unary::GeluErf) && act != static_cast<int>(Unary::GeluTanh) &&
      act != static_cast<int>(Unary::Silu))
    return Fail(env, "biasActivationGrad: act must be GeluErf, GeluTanh or Silu"), env.Undefined();
  float *dy, *x, *bias, *dx, *dbias;
  if (!F32(info, 0, rows * n, &dy) || !F32(info, 1, rows * n, &x) || !OptionalF32(info, 2, n, &bias) ||
      !F32(info, 3, rows * n, &dx) || !OptionalF32(info, 4, n, &dbias))
    return env.Undefined();
  if (rows * n > 0) bias_activation_grad(dy, x, bias, dx, dbias, rows, n, static_cast<int>(act));
  else if (dbias) std::fill(dbias, dbias + n, 0.f);
  return env.Undefined();
}

// normRowsGrad(dy, x, gamma, dx, dgamma, dbeta | null, rows, C, eps, rms)
Napi::Value NormRowsGrad(const Napi::CallbackInfo& info) {
  auto env = info.Env();
  const int64_t rows = Int(info, 6), C = Int(info, 7);
  if (rows < 0 || C < 0) return Fail(env, "normRowsGrad: negative size"), env.Undefined();
  float *dy, *x, *gamma, *dx, *dgamma, *dbeta;
  if (!F32(info, 0, rows * C, &dy) || !F32(info, 1, rows * C, &x) || !F32(info, 2, C, &gamma) ||
      !F32(info, 3, rows * C, &dx) || !F32(info, 4, C, &dgamma) || !OptionalF32(info, 5, C, &dbeta))
    return env.Undefined();
  norm_rows_grad(dy, x, gamma, dx, dgamma, dbeta, rows, C, info[8].As<Napi::Number>().FloatValue(),
                 info[9].ToBoolean());
  return env.Undefined();
}

// adamw(p, g, m, v, pOut, mOut, vOut, [beta1, 1 - beta1, beta2, 1 - beta2, eps, decay, stepSize, bc2Sqrt])
Napi::Value AdamW(const Napi::CallbackInfo& info) {
  auto env = info.Env();
  if (!info[0].IsTypedArray()) return Fail(env, "adamw: p must be a Float32Array"), env.Undefined();
  const int64_t n = info[0].As<Napi::TypedArray>().ElementLength();
  float *p, *g, *m, *v, *pOut, *mOut, *vOut;
  if (!F32(info, 0, n, &p) || !F32(info, 1, n, &g) || !F32(info, 2, n, &m) || !F32(info, 3, n, &v) ||
      !F32(info, 4, n, &pOut) || !F32(info, 5, n, &mOut) || !F32(info, 6, n, &vOut))
    return env.Undefined();
  auto h = info[7].As<Napi::Array>();
  if (h.Length() != 8) return Fail(env, "adamw: the hyperparameters must be 8 numbers"), env.Undefined();
  float k[8];
  for (uint32_t i = 0; i < 8; i++) k[i] = h.Get(i).As<Napi::Number>().FloatValue();
  adamw(p, g, m, v, pOut, mOut, vOut, n, AdamWStep{k[0], k[1], k[2], k[3], k[4], k[5], k[6], k[7]});
  return env.Undefined();
}

}  // namespace

void register_training(Napi::Env env, Napi::Object exports) {
  exports.Set("biasActivationGrad", Napi::Function::New(env, BiasActivationGrad));
  exports.Set("normRowsGrad", Napi::Function::New(env, NormRowsGrad));
  exports.Set("adamw", Napi::Function::New(env, AdamW));
}

}  // namespace birdvlm
