// Fused kernels of BirdVLM's transformer ops: scaled dot-product attention in one pass (scores, masks,
// softmax and values per block of query rows, the scores never leaving a thread's scratch) and SwiGLU.
#pragma once
#include <cstdint>

namespace birdvlm {

/** What `attention` reads and writes; every tensor is row-major float32. */
struct AttentionArgs {
  const float* q;     // [B, H, Tq, D]
  const float* k;     // [B, Hkv, capK, D]: the first Tk positions of each head are read
  const float* v;     // same layout as k
  const float* mask;  // additive, read at b*maskStride[0] + h*maskStride[1] + i*maskStride[2] + j*maskStride[3]; or null
  float* out;         // [B, H, Tq, D]
  int B, H, Hkv, Tq, Tk, capK, D;
  float scale;        // multiplies q·k
  bool causal;        // key j is dropped for query i when j > offset + i
  int window;         // and when offset + i - j >= window (0: no window)
  int offset;         // absolute position of query 0
  int64_t maskStride[4];
  // q, k, v are the thirds of one [B, T, 3, H, D] buffer (a fused qkv projection's output: k = q + H*D, v = q + 2*H*D,
  // rows 3*H*D apart; T = Tk == capK) and out is [B, Tq, H, D]: the first Tq ≤ T tokens are the queries (a class
  // token's last block asks for Tq = 1); needs H == Hkv. Otherwise the layouts above.
  bool packedQkv = false;
  // [B, H, Tq, Tk] or null. The forward, given it, keeps every row's probabilities there (a training forward); the
  // gradient, given it, reads them instead of recomputing q·kᵀ and the softmax.
  float* probs = nullptr;
};

/** The score added to a key that the causal / window rule drops (as the ops' MASKED_SCORE). */
constexpr float kMaskedScore = -1e30f;

/**
 * out = softmax(q·kᵀ·scale + mask + positional) · v, query head h reading kv head h / (H / Hkv).
 * Threaded over (batch, head, block of query rows); small problems run on the calling thread.
 */
void attention(const AttentionArgs& a);

/** What `attention_grad` reads (the forward's arguments, `out` unused, and dy) and writes. */
struct AttentionGradArgs {
  AttentionArgs fwd;
  const float* dy;  // [B, H, Tq, D]
  float* dq;        // [B, H, Tq, D]
  float* dk;        // [B, Hkv, capK, D]: positions past Tk get 0
  float* dv;        // same layout as dk
  // With fwd.packedQkv: dy is [B, Tq, H, D] and dq, dk, dv the thirds of one [B, T, 3, H, D] buffer (as q, k, v);
  // dq's rows past Tq get 0.
};

/**
 * Gradients of `attention` to q, k and v given dy (the probabilities read from `fwd.probs`, or recomputed one
 * [Tq, Tk] plane per thread at a time). Threaded over (batch, kv head); a kv head's query heads are summed into its dk, dv in order.
 */
void attention_grad(const AttentionGradArgs& g);

/** out[r, j] = x[r, I + j] * silu(x[r, j]) for x [rows, 2I] (gate first, then up), out [rows, I]. */
void swiglu(const float* x, float* out, int64_t rows, int64_t I);

}  // namespace birdvlm
