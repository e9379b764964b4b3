// N-API entry points of the data pipeline's augmentation of stored pixels (augment.cc).
#include <napi.h>

#include <cstdint>
#include <string>
#include <vector>

#include "augment.h"
#include "napi_util.h"
#include "thread_pool.h"

namespace birdvlm {
namespace {

using napi::F32;
using napi::Fail;
using napi::Int;
using napi::RunOnExecutor;
using napi::Typed;

// resampleCrops(srcs: Uint8Array[], sizes: Int32Array [W, H per image], regions: Float64Array [left, top, width,
// height per image], S, out: Float32Array [n, S, S, 3], lumas: Float64Array [n]): resample_crop for n images, spread
// over the threads.
Napi::Value ResampleCrops(const Napi::CallbackInfo& info) {
  auto env = info.Env();
  if (!info[0].IsArray()) return Fail(env, "resampleCrops: argument 0 must be an array of Uint8Array"), env.Undefined();
  auto list = info[0].As<Napi::Array>();
  const int64_t n = list.Length(), S = Int(info, 3);
  if (S < 1) return Fail(env, "resampleCrops: the size must be positive"), env.Undefined();
  int32_t* dims;
  double *regions, *lumas;
  float* out;
  if (!Typed(info, 1, napi_int32_array, "Int32Array", 2 * n, &dims) ||
      !Typed(info, 2, napi_float64_array, "Float64Array", 4 * n, &regions) || !F32(info, 4, n * S * S * 3, &out) ||
      !Typed(info, 5, napi_float64_array, "Float64Array", n, &lumas))
    return env.Undefined();
  std::vector<const uint8_t*> srcs(n);
  for (int64_t i = 0; i < n; i++) {
    const int64_t W = dims[2 * i], H = dims[2 * i + 1];
    const double* r = regions + 4 * i;
    auto v = list.Get(static_cast<uint32_t>(i));
    if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array ||
        static_cast<int64_t>(v.As<Napi::Uint8Array>().ElementLength()) < W * H * 3 || W < 1 || H < 1)
      return Fail(env, "resampleCrops: image " + std::to_string(i) + " is not a Uint8Array of its W x H x 3 bytes"),
             env.Undefined();
    if (!(r[2] > 0 && r[3] > 0 && r[0] >= 0 && r[1] >= 0 && r[0] + r[2] <= W && r[1] + r[3] <= H))
      return Fail(env, "resampleCrops: the region of image " + std::to_string(i) + " is outside it"), env.Undefined();
    srcs[i] = v.As<Napi::Uint8Array>().Data();
  }
  // On the executor, the pool's one caller, after what is queued; this thread helps and waits.
  RunOnExecutor(env, [&] {
    pool().run(static_cast<int>(n), [&](int i) {
      const double* r = regions + 4 * i;
      lumas[i] = resample_crop(srcs[i], dims[2 * i], dims[2 * i + 1], r[0], r[1], r[2], r[3], static_cast<int>(S),
                               out + static_cast<int64_t>(i) * S * S * 3);
    });
  });
  return env.Undefined();
}

// normalizeBatch(in: Float32Array [n, S, S, 3], S, params: Float64Array [18 per image], flags: Uint8Array [n]
// (bit 0 clamp, bit 1 flipped), out: Float32Array [n, S, S, 3]): normalize_pixels for n images over the threads
// (params per image: colour matrix 9, offset 3, mean 3, 1 / std 3).
Napi::Value NormalizeBatch(const Napi::CallbackInfo& info) {
  auto env = info.Env();
  const int64_t S = Int(info, 1);
  if (S < 1) return Fail(env, "normalizeBatch: the size must be positive"), env.Undefined();
  uint8_t* flags;
  if (!Typed(info, 3, napi_uint8_array, "Uint8Array", 0, &flags)) return env.Undefined();
  const int64_t n = info[3].As<Napi::Uint8Array>().ElementLength(), plane = S * S * 3;
  float *in, *out;
  double* p;
  if (!F32(info, 0, n * plane, &in) || !Typed(info, 2, napi_float64_array, "Float64Array", 18 * n, &p) ||
      !F32(info, 4, n * plane, &out))
    return env.Undefined();
  RunOnExecutor(env, [&] {
    pool().run(static_cast<int>(n), [&](int i) {
      const double* q = p + 18 * i;
      normalize_pixels(in + i * plane, static_cast<int>(S), q, q + 9, flags[i] & 1, q + 12, q + 15, flags[i] & 2,
                       out + i * plane);
    });
  });
  return env.Undefined();
}

}  // namespace

void register_image(Napi::Env env, Napi::Object exports) {
  exports.Set("resampleCrops", Napi::Function::New(env, ResampleCrops));
  exports.Set("normalizeBatch", Napi::Function::New(env, NormalizeBatch));
}

}  // namespace birdvlm
