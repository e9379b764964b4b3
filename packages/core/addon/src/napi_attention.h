// Argument reading shared by the N-API entry points of attention (addon.cc) and its gradient (addon_training.cc).
#pragma once
#include <napi.h>

#include <cstdint>
#include <string>

#include "attention.h"
#include "napi_util.h"

namespace birdvlm {
namespace napi {

/**
 * Reads the optional probabilities `[B, H, Tq, Tk]` at argument `at` (absent, null or undefined: none) into a->probs;
 * returns false after throwing an error naming the argument.
 */
inline bool ReadProbs(const Napi::CallbackInfo& info, size_t at, AttentionArgs* a) {
  a->probs = nullptr;
  if (info.Length() <= at || info[at].IsNull() || info[at].IsUndefined()) return true;
  return F32(info, at, static_cast<int64_t>(a->B) * a->H * a->Tq * a->Tk, &a->probs);
}

/**
 * Reads what `attention` and `attentionGrad` share: `[B, H, Hkv, Tq, Tk, capK, D]` at argument `at`, then scale,
 * causal, window, offset, maskStrides[4], packedQkv? and probs? (`ReadProbs`), and the optional mask at argument 3 (its extent checked
 * against the strides). Fills a's sizes, flags and mask; returns false after throwing an error naming `op`.
 */
inline bool ReadAttentionShape(const Napi::CallbackInfo& info, size_t at, const std::string& op, AttentionArgs* a) {
  auto env = info.Env();
  auto dims = Ints(info, at);
  if (dims.size() != 7) return Fail(env, op + ": dims must be [B, H, Hkv, Tq, Tk, capK, D]");
  for (int64_t d : dims)
    if (d < 0) return Fail(env, op + ": negative size");
  a->B = static_cast<int>(dims[0]);
  a->H = static_cast<int>(dims[1]);
  a->Hkv = static_cast<int>(dims[2]);
  a->Tq = static_cast<int>(dims[3]);
  a->Tk = static_cast<int>(dims[4]);
  a->capK = static_cast<int>(dims[5]);
  a->D = static_cast<int>(dims[6]);
  if (a->Hkv == 0 || a->H % a->Hkv != 0 || a->Tk > a->capK)
    return Fail(env, op + ": H must be a multiple of Hkv and Tk at most capK");
  a->scale = info[at + 1].As<Napi::Number>().FloatValue();
  a->causal = info[at + 2].ToBoolean();
  a->window = static_cast<int>(Int(info, at + 3));
  a->offset = static_cast<int>(Int(info, at + 4));
  auto ms = Ints(info, at + 5);
  if (ms.size() != 4) return Fail(env, op + ": maskStrides must have 4 entries");
  a->packedQkv = info.Length() > at + 6 && info[at + 6].ToBoolean();
  if (a->packedQkv && (a->Hkv != a->H || a->Tq > a->Tk || a->Tk != a->capK))
    return Fail(env, op + ": packed qkv needs H == Hkv, Tq <= Tk and Tk == capK");
  float* mask = nullptr;
  if (!info[3].IsNull() && !info[3].IsUndefined()) {
    int64_t extent = 1;
    const int64_t full[4] = {a->B, a->H, a->Tq, a->Tk};
    for (int d = 0; d < 4; d++) {
      if (ms[d] < 0) return Fail(env, op + ": negative mask stride");
      if (full[d] > 0) extent += (full[d] - 1) * ms[d];
    }
    if (!F32(info, 3, extent, &mask)) return false;
  }
  a->mask = mask;
  for (int d = 0; d < 4; d++) a->maskStride[d] = ms[d];
  return ReadProbs(info, at + 7, a);
}

/** Elements of q (and out, dq, dy) for these sizes: B·H·Tq·D. */
inline int64_t QueryElements(const AttentionArgs& a) { return static_cast<int64_t>(a.B) * a.H * a.Tq * a.D; }

/** Elements of k and v (and dk, dv): B·Hkv·capK·D. */
inline int64_t KeyElements(const AttentionArgs& a) { return static_cast<int64_t>(a.B) * a.Hkv * a.capK * a.D; }

}  // namespace napi
}  // namespace birdvlm
