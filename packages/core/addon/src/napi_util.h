// Argument helpers shared by the N-API entry points (addon.cc, addon_training.cc): typed-array access with a
// size check, integers, and the error every entry point throws.
#pragma once
#include <napi.h>

#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "stream.h"

namespace birdvlm {
namespace napi {

/** Throws a TypeError "birdvlm_native: <msg>" into JavaScript; returns false for `if (!...) return`. */
inline bool Fail(Napi::Env env, const std::string& msg) {
  Napi::TypeError::New(env, "birdvlm_native: " + msg).ThrowAsJavaScriptException();
  return false;
}

/** Argument i as a typed array of `type` (named `name` in the error) with at least `need` elements; its data in *out. */
template <class T>
inline bool Typed(const Napi::CallbackInfo& info, size_t i, napi_typedarray_type type, const char* name, int64_t need,
                  T** out) {
  if (!info[i].IsTypedArray() || info[i].As<Napi::TypedArray>().TypedArrayType() != type)
    return Fail(info.Env(), "argument " + std::to_string(i) + " must be a " + name);
  auto a = info[i].As<Napi::TypedArrayOf<T>>();
  if (static_cast<int64_t>(a.ElementLength()) < need)
    return Fail(info.Env(), "argument " + std::to_string(i) + " has " + std::to_string(a.ElementLength()) +
                                " elements, needs " + std::to_string(need));
  *out = a.Data();
  return true;
}

/** Argument i as a Float32Array of at least `need` elements; its data in *out. */
inline bool F32(const Napi::CallbackInfo& info, size_t i, int64_t need, float** out) {
  return Typed(info, i, napi_float32_array, "Float32Array", need, out);
}

/** As F32 for an optional argument: null or undefined leave *out null. */
inline bool OptionalF32(const Napi::CallbackInfo& info, size_t i, int64_t need, float** out) {
  *out = nullptr;
  if (info.Length() <= i || info[i].IsNull() || info[i].IsUndefined()) return true;
  return F32(info, i, need, out);
}

/** Waits for every queued kernel (helping with its pool jobs); throws a queued kernel's error. */
inline bool Synchronize(Napi::Env env) {
  const std::string error = synchronize();
  return error.empty() || Fail(env, "a queued kernel failed: " + error);
}

/**
 * Queues `kernel` (stream.h) and returns its sequence number to JavaScript, which keeps the kernel's typed arrays
 * alive until that sequence number has run; with the queue off, waits for it and returns 0.
 */
inline Napi::Value Launch(Napi::Env env, std::function<void()> kernel) {
  const uint64_t seq = launch(std::move(kernel));
  if (async_launches()) return Napi::Number::New(env, static_cast<double>(seq));
  Synchronize(env);
  return Napi::Number::New(env, 0);
}

/** What an entry point with nothing to compute returns (no launch: nothing to keep alive). */
inline Napi::Value NoKernel(Napi::Env env) { return Napi::Number::New(env, 0); }

/** Runs `kernel` on the executor (the pool's one caller) and waits for it; false after throwing an error. */
inline bool RunOnExecutor(Napi::Env env, std::function<void()> kernel) {
  launch(std::move(kernel));
  return Synchronize(env);
}

inline int64_t Int(const Napi::CallbackInfo& info, size_t i) { return info[i].As<Napi::Number>().Int64Value(); }

inline std::vector<int64_t> Ints(const Napi::CallbackInfo& info, size_t i) {
  auto arr = info[i].As<Napi::Array>();
  std::vector<int64_t> v(arr.Length());
  for (uint32_t k = 0; k < arr.Length(); k++) v[k] = arr.Get(k).As<Napi::Number>().Int64Value();
  return v;
}

}  // namespace napi

/** Adds the entry points of the training kernels (addon_training.cc) to the module's exports. */
void register_training(Napi::Env env, Napi::Object exports);
/** Adds the entry points of the convolution gathers (addon_conv.cc) to the module's exports. */
void register_conv(Napi::Env env, Napi::Object exports);
/** Adds the entry points of the data pipeline's pixel augmentation (addon_image.cc) to the module's exports. */
void register_image(Napi::Env env, Napi::Object exports);

}  // namespace birdvlm
