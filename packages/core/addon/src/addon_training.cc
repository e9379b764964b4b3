// N-API entry points of the training kernels: the fused backward of bias + activation, of the row norms and of
// attention, and the AdamW update. Inputs are read, outputs written in place; sizes are checked here.
#include <napi.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "attention.h"
#include "elementwise.h"
#include "napi_attention.h"
#include "napi_util.h"
#include "thread_pool.h"
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
  return Launch(env, [=] {
    if (rows * n > 0) bias_activation_grad(dy, x, bias, dx, dbias, rows, n, static_cast<int>(act));
    else if (dbias) std::fill(dbias, dbias + n, 0.f);
  });
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
  const float eps = info[8].As<Napi::Number>().FloatValue();
  const bool rms = info[9].ToBoolean();
  return Launch(env, [=] { norm_rows_grad(dy, x, gamma, dx, dgamma, dbeta, rows, C, eps, rms); });
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
  const AdamWStep step{k[0], k[1], k[2], k[3], k[4], k[5], k[6], k[7]};
  return Launch(env, [=] { adamw(p, g, m, v, pOut, mOut, vOut, n, step); });
}

// attentionGrad(q, k, v, mask | null, dy, dq, dk, dv, [B, H, Hkv, Tq, Tk, capK, D], scale, causal, window, offset,
//               maskStrides[4], packedQkv?, probs?): the arguments of `attention` plus dy in, dq, dk, dv out;
//               probs, when given, the forward's probabilities (read, not recomputed).
Napi::Value AttentionGrad(const Napi::CallbackInfo& info) {
  auto env = info.Env();
  AttentionGradArgs g{};
  AttentionArgs& a = g.fwd;
  if (!ReadAttentionShape(info, 8, "attentionGrad", &a)) return env.Undefined();
  const int64_t nq = QueryElements(a), nk = KeyElements(a);
  float *q, *k, *v, *dy, *dq, *dk, *dv;
  if (a.packedQkv) {
    // q and dq hold [B, T, 3, H, D]; k, v, dk, dv are views into them
    if (!F32(info, 0, 3 * nk, &q) || !F32(info, 4, nq, &dy) || !F32(info, 5, 3 * nk, &dq)) return env.Undefined();
    const int64_t HD = static_cast<int64_t>(a.H) * a.D;
    k = q + HD, v = q + 2 * HD, dk = dq + HD, dv = dq + 2 * HD;
  } else if (!F32(info, 0, nq, &q) || !F32(info, 1, nk, &k) || !F32(info, 2, nk, &v) || !F32(info, 4, nq, &dy) ||
             !F32(info, 5, nq, &dq) || !F32(info, 6, nk, &dk) || !F32(info, 7, nk, &dv)) {
    return env.Undefined();
  }
  a.q = q;
  a.k = k;
  a.v = v;
  g.dy = dy;
  g.dq = dq;
  g.dk = dk;
  g.dv = dv;
  return Launch(env, [=] { attention_grad(g); });
}

/** Argument `at` as an array of Float32Arrays (`sizes` receives their lengths); false after throwing. */
template <class T>
bool Float32Arrays(const Napi::CallbackInfo& info, size_t at, const char* op, std::vector<T*>* data,
                   std::vector<int64_t>* sizes) {
  if (!info[at].IsArray())
    return Fail(info.Env(), std::string(op) + ": argument " + std::to_string(at) + " must be an array of Float32Arrays");
  auto list = info[at].As<Napi::Array>();
  for (uint32_t i = 0; i < list.Length(); i++) {
    Napi::Value v = list.Get(i);
    if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_float32_array)
      return Fail(info.Env(), std::string(op) + ": element " + std::to_string(i) + " of argument " + std::to_string(at) +
                                  " is not a Float32Array");
    auto a = v.As<Napi::Float32Array>();
    data->push_back(a.Data());
    sizes->push_back(static_cast<int64_t>(a.ElementLength()));
  }
  return true;
}

// clipByGlobalNorm(grads: Float32Array[], norm: Float32Array [1], maxNorm, outs: Float32Array[] | null): norm[0] =
// √Σ g² over every gradient (summed in double: each array on one thread, the arrays' sums added in order, the same
// for any thread count), and with `outs`, outs[i] = grads[i] · min(1, maxNorm / (norm + 1e-6)), each scalar step
// rounded to float32 as TF.js's scalar ops round it. One queued kernel: JavaScript does not wait for the norm.
Napi::Value ClipByGlobalNorm(const Napi::CallbackInfo& info) {
  auto env = info.Env();
  std::vector<const float*> grads;
  std::vector<float*> outs;
  std::vector<int64_t> sizes, outSizes;
  float* norm;
  if (!Float32Arrays(info, 0, "clipByGlobalNorm", &grads, &sizes) || !F32(info, 1, 1, &norm)) return env.Undefined();
  const double maxNorm = info[2].As<Napi::Number>().DoubleValue();
  if (info.Length() > 3 && !info[3].IsNull() && !info[3].IsUndefined()) {
    if (!Float32Arrays(info, 3, "clipByGlobalNorm", &outs, &outSizes)) return env.Undefined();
    if (outSizes != sizes) return Fail(env, "clipByGlobalNorm: each output must have its gradient's size"), env.Undefined();
  }
  return Launch(env, [=, grads = std::move(grads), outs = std::move(outs), sizes = std::move(sizes)] {
    std::vector<double> sums(grads.size(), 0.0);
    pool().run(static_cast<int>(grads.size()), [&](int i) { sums[i] = sum_squares(grads[i], sizes[i]); });
    double total = 0.0;
    for (double s : sums) total += s;
    const float n = static_cast<float>(std::sqrt(static_cast<double>(static_cast<float>(total))));
    *norm = n;
    if (outs.empty()) return;
    const float den = static_cast<float>(static_cast<double>(n) + static_cast<double>(1e-6f));
    const float q = static_cast<float>(static_cast<double>(static_cast<float>(maxNorm)) / static_cast<double>(den));
    const float coef = std::isnan(q) ? q : std::min(1.f, q);  // NaN when the norm is (as Math.min, tf.minimum)
    const int64_t unit = 1, broadcast = 0;
    for (size_t i = 0; i < grads.size(); i++)
      if (sizes[i] > 0) binary(Binary::Mul, grads[i], &coef, outs[i], 1, &sizes[i], &unit, &broadcast);
  });
}

}  // namespace

void register_training(Napi::Env env, Napi::Object exports) {
  exports.Set("biasActivationGrad", Napi::Function::New(env, BiasActivationGrad));
  exports.Set("normRowsGrad", Napi::Function::New(env, NormRowsGrad));
  exports.Set("adamw", Napi::Function::New(env, AdamW));
  exports.Set("attentionGrad", Napi::Function::New(env, AttentionGrad));
  exports.Set("clipByGlobalNorm", Napi::Function::New(env, ClipByGlobalNorm));
}

}  // namespace birdvlm
