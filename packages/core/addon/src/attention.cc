#include "attention.h"

#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <vector>

#include "fast_math.h"
#include "sgemm.h"
#include "thread_pool.h"

namespace birdvlm {
namespace {

#define BIRDVLM_SIMD __attribute__((target_clones("avx512f", "avx2", "default")))

// Below this many flops an attention runs on the calling thread (waking the pool costs more than it saves).
constexpr double kSerialFlops = 4e5;
// Query rows from which the scores and values go through the packed SGEMM instead of plain dot products.
constexpr int kGemmRows = 4;

// Where row i of head h of batch b starts: b * batch + h * head + i * row floats from the base pointer.
struct View {
  int64_t batch, head, row;
  int64_t at(int b, int h, int i) const { return b * batch + h * head + i * row; }
};

View q_view(const AttentionArgs& a) {  // q, dq (and dy, out unless packed); packed: T = Tk tokens a batch
  const int64_t HD = static_cast<int64_t>(a.H) * a.D;
  return a.packedQkv ? View{3 * a.Tk * HD, a.D, 3 * HD} : View{a.Tq * HD, static_cast<int64_t>(a.Tq) * a.D, a.D};
}
View kv_view(const AttentionArgs& a) {  // k, v, dk, dv
  if (a.packedQkv) return q_view(a);
  return View{static_cast<int64_t>(a.Hkv) * a.capK * a.D, static_cast<int64_t>(a.capK) * a.D, a.D};
}
View out_view(const AttentionArgs& a) {  // out, dy
  const int64_t HD = static_cast<int64_t>(a.H) * a.D;
  return a.packedQkv ? View{a.Tq * HD, a.D, HD} : q_view(a);
}

BIRDVLM_SIMD float dot(const float* a, const float* b, int n) {
  float s = 0.f;
#pragma omp simd reduction(+ : s)
  for (int i = 0; i < n; i++) s += a[i] * b[i];
  return s;
}

BIRDVLM_SIMD void axpy(float alpha, const float* x, float* y, int n) {
  for (int i = 0; i < n; i++) y[i] += alpha * x[i];
}

// s = exp(s - m) / Σ exp(s - m) in place, m the row's max (as the Softmax kernel: exp(x - max), times 1 / sum).
BIRDVLM_SIMD void softmax_exp(float* s, int Tk, float m) {
  float sum = 0.f;
#pragma omp simd reduction(+ : sum)
  for (int j = 0; j < Tk; j++) {
    s[j] = exp_nonpositive(s[j] - m);
    sum += s[j];
  }
  const float inv = 1.0f / sum;
  for (int j = 0; j < Tk; j++) s[j] *= inv;
}

// Horizontal max and sum of eight lanes.
__attribute__((target("avx2"))) float max8(__m256 v) {
  __m128 m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  m = _mm_max_ps(m, _mm_movehl_ps(m, m));
  return _mm_cvtss_f32(_mm_max_ss(m, _mm_movehdup_ps(m)));
}
__attribute__((target("avx2"))) float sum8(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  return _mm_cvtss_f32(_mm_add_ss(s, _mm_movehdup_ps(s)));
}

// A row's softmax of s · scale with no mask or positional rule (a ViT's every row) on AVX2 + FMA, in three passes
// (scale and max; exp(x - max) and its sum; times 1 / sum), the last Tk % 8 lanes through masked loads and stores.
// The compiler's vector form of the same loops spends most of its time in the scalar tail and in unfused products.
__attribute__((target("avx2,fma"))) void softmax_plain_avx2(float* s, int Tk, float scale) {
  const int full = Tk & ~7, rest = Tk - full;
  const __m256i tail = tail_mask8(Tk);
  const __m256 vscale = _mm256_set1_ps(scale), ninf = _mm256_set1_ps(-std::numeric_limits<float>::infinity());
  __m256 vm = ninf;
  for (int j = 0; j < full; j += 8) {
    const __m256 x = _mm256_mul_ps(_mm256_loadu_ps(s + j), vscale);
    _mm256_storeu_ps(s + j, x);
    vm = _mm256_max_ps(x, vm);  // a NaN score leaves the max as it was (as std::max(m, x))
  }
  if (rest) {
    const __m256 x = _mm256_mul_ps(_mm256_maskload_ps(s + full, tail), vscale);
    _mm256_maskstore_ps(s + full, tail, x);
    vm = _mm256_max_ps(_mm256_blendv_ps(ninf, x, _mm256_castsi256_ps(tail)), vm);
  }
  const __m256 m = _mm256_set1_ps(max8(vm));
  __m256 vsum = _mm256_setzero_ps();
  for (int j = 0; j < full; j += 8) {
    const __m256 e = exp_nonpositive8(_mm256_sub_ps(_mm256_loadu_ps(s + j), m));
    _mm256_storeu_ps(s + j, e);
    vsum = _mm256_add_ps(vsum, e);
  }
  if (rest) {
    const __m256 e = exp_nonpositive8(_mm256_sub_ps(_mm256_maskload_ps(s + full, tail), m));
    _mm256_maskstore_ps(s + full, tail, e);
    vsum = _mm256_add_ps(vsum, _mm256_and_ps(e, _mm256_castsi256_ps(tail)));
  }
  const __m256 inv = _mm256_set1_ps(1.0f / sum8(vsum));
  for (int j = 0; j < full; j += 8) _mm256_storeu_ps(s + j, _mm256_mul_ps(_mm256_loadu_ps(s + j), inv));
  if (rest) _mm256_maskstore_ps(s + full, tail, _mm256_mul_ps(_mm256_maskload_ps(s + full, tail), inv));
}

// One row of scores: scale, add the mask and the positional rule, then softmax in place (as the Softmax
// kernel: max, exp(x - max), times 1 / sum).
BIRDVLM_SIMD void softmax_scores(float* s, int Tk, float scale, const float* mrow, int64_t mstride, int pos, bool causal,
                                 int window) {
  float m = -std::numeric_limits<float>::infinity();
  if (!mrow && !causal && window <= 0 && avx2_fma()) return softmax_plain_avx2(s, Tk, scale);
  if (!mrow && !causal && window <= 0) {  // the common case (a ViT): scale and max in one pass
#pragma omp simd reduction(max : m)
    for (int j = 0; j < Tk; j++) {
      s[j] *= scale;
      m = std::max(m, s[j]);
    }
    return softmax_exp(s, Tk, m);
  }
  for (int j = 0; j < Tk; j++) s[j] *= scale;
  if (mrow) {
    if (mstride == 1)
      for (int j = 0; j < Tk; j++) s[j] += mrow[j];
    else if (mstride == 0)
      for (int j = 0; j < Tk; j++) s[j] += mrow[0];
    else
      for (int j = 0; j < Tk; j++) s[j] += mrow[j * mstride];
  }
  if (causal)
    for (int j = std::max(0, pos + 1); j < Tk; j++) s[j] += kMaskedScore;
  if (window > 0) {
    int last = std::min(Tk - 1, pos - window);  // keys j <= pos - window are too far back
    for (int j = 0; j <= last; j++) s[j] += kMaskedScore;
  }
#pragma omp simd reduction(max : m)
  for (int j = 0; j < Tk; j++) m = std::max(m, s[j]);
  softmax_exp(s, Tk, m);
}

// dst[0:n] = src[0:n] with non-temporal stores (the probabilities a training forward keeps are read only by the
// backward, long after: written around the caches, they do not evict what the step is working on, nor are they read
// in first). The stores are fenced before returning.
void stream_copy(const float* src, float* dst, int64_t n) {
  int64_t i = 0;
  for (; i < n && (reinterpret_cast<uintptr_t>(dst + i) & 15) != 0; i++) dst[i] = src[i];
  for (; i + 4 <= n; i += 4) _mm_stream_ps(dst + i, _mm_loadu_ps(src + i));
  for (; i < n; i++) dst[i] = src[i];
  _mm_sfence();
}

// K (as the right operand of q·kᵀ) and V packed once per kv head, shared by that head's blocks of rows; null
// when each block packs its own.
struct PackedKV {
  const float* data = nullptr;
  int64_t kFloats = 0, vFloats = 0;
  const float* keys(int kvHead) const { return data + kvHead * (kFloats + vFloats); }
  const float* values(int kvHead) const { return keys(kvHead) + kFloats; }
};

void attend_rows(const AttentionArgs& a, const PackedKV& packed, int b, int h, int i0, int i1, std::vector<float>& scratch) {
  const int rows = i1 - i0, Tk = a.Tk, D = a.D;
  const int g = h / (a.H / a.Hkv);
  const View qv = q_view(a), kv = kv_view(a), ov = out_view(a);
  const float* qb = a.q + qv.at(b, h, i0);
  const float* kb = a.k + kv.at(b, g, 0);
  const float* vb = a.v + kv.at(b, g, 0);
  float* ob = a.out + ov.at(b, h, i0);
  if (scratch.size() < static_cast<size_t>(rows) * Tk) scratch.resize(static_cast<size_t>(rows) * Tk);
  float* s = scratch.data();
  const int kvHead = b * a.Hkv + g;
  if (rows >= kGemmRows && packed.data) {
    sgemm_prepacked(rows, Tk, D, qb, qv.row, false, packed.keys(kvHead), s, Tk);
  } else if (rows >= kGemmRows) {
    sgemm_serial({rows, Tk, D, qb, static_cast<int>(qv.row), false, kb, static_cast<int>(kv.row), true, s, Tk, false});
  } else {
    for (int r = 0; r < rows; r++)
      for (int j = 0; j < Tk; j++) s[static_cast<int64_t>(r) * Tk + j] = dot(qb + r * qv.row, kb + j * kv.row, D);
  }
  for (int r = 0; r < rows; r++) {
    const int i = i0 + r;
    const float* mrow = a.mask ? a.mask + b * a.maskStride[0] + h * a.maskStride[1] + i * a.maskStride[2] : nullptr;
    softmax_scores(s + static_cast<int64_t>(r) * Tk, Tk, a.scale, mrow, a.maskStride[3], a.offset + i, a.causal, a.window);
  }
  if (rows >= kGemmRows && packed.data) {
    sgemm_prepacked(rows, D, Tk, s, Tk, false, packed.values(kvHead), ob, static_cast<int>(ov.row));
  } else if (rows >= kGemmRows) {
    if (!sgemm_direct(rows, D, Tk, s, Tk, 1, vb, kv.row, ob, ov.row, false))
      sgemm_serial({rows, D, Tk, s, Tk, false, vb, static_cast<int>(kv.row), false, ob, static_cast<int>(ov.row), false});
  } else {
    for (int r = 0; r < rows; r++) {
      float* o = ob + r * ov.row;
      std::fill(o, o + D, 0.f);
      const float* p = s + static_cast<int64_t>(r) * Tk;
      for (int j = 0; j < Tk; j++) axpy(p[j], vb + j * kv.row, o, D);
    }
  }
  if (a.probs) stream_copy(s, a.probs + (static_cast<int64_t>(b * a.H + h) * a.Tq + i0) * Tk, static_cast<int64_t>(rows) * Tk);
}

// dS = P ∘ (dP − rowsum(dP ∘ P)) · scale, in place of dP, for rows of Tk (the softmax backward, times the scale
// that both dq and dk carry).
BIRDVLM_SIMD void softmax_grad_rows(const float* p, float* dp, int rows, int Tk, float scale) {
  for (int r = 0; r < rows; r++) {
    const float* pr = p + static_cast<int64_t>(r) * Tk;
    float* d = dp + static_cast<int64_t>(r) * Tk;
    float dot = 0.f;
#pragma omp simd reduction(+ : dot)
    for (int j = 0; j < Tk; j++) dot += d[j] * pr[j];
    for (int j = 0; j < Tk; j++) d[j] = pr[j] * (d[j] - dot) * scale;
  }
}

// Reference: FlashAttention-2's backward (Dao 2023, Algorithm 2) without tiling, as core's `attentionGrad`:
// P recomputed from q, k; dV = Pᵀ dy; dP = dy Vᵀ; dS = P ∘ (dP − rowsum(dP ∘ P)); dQ = dS K · scale; dK = dSᵀ Q · scale.
// One kv head and every query head that reads it (their dk, dv summed), on the calling thread.
void attention_grad_kv_head(const AttentionGradArgs& g, int b, int kvHead, std::vector<float>& scratch) {
  const AttentionArgs& a = g.fwd;
  const int Tq = a.Tq, Tk = a.Tk, D = a.D, group = a.H / a.Hkv;
  const int64_t plane = static_cast<int64_t>(Tq) * Tk;
  const int64_t planes = a.probs ? plane : 2 * plane;  // P kept by the forward: only dS needs scratch
  if (scratch.size() < static_cast<size_t>(planes)) scratch.resize(static_cast<size_t>(planes));
  float* dS = scratch.data();
  float* P = a.probs ? nullptr : dS + plane;  // with kept probabilities, each query head's plane of them
  const View qv = q_view(a), kv = kv_view(a), ov = out_view(a);
  const int64_t kvOff = kv.at(b, kvHead, 0);
  const int qr = static_cast<int>(qv.row), kr = static_cast<int>(kv.row), yr = static_cast<int>(ov.row);
  const float* kb = a.k + kvOff;
  const float* vb = a.v + kvOff;
  float* dk = g.dk + kvOff;
  float* dv = g.dv + kvOff;
  for (int hh = 0; hh < group; hh++) {
    const int h = kvHead * group + hh;
    const float* qb = a.q + qv.at(b, h, 0);
    const float* dyb = g.dy + ov.at(b, h, 0);
    float* dq = g.dq + qv.at(b, h, 0);
    if (a.probs) {
      P = a.probs + static_cast<int64_t>(b * a.H + h) * plane;
    } else {
      sgemm_serial({Tq, Tk, D, qb, qr, false, kb, kr, true, P, Tk, false});
      for (int i = 0; i < Tq; i++) {
        const float* mrow = a.mask ? a.mask + b * a.maskStride[0] + h * a.maskStride[1] + i * a.maskStride[2] : nullptr;
        softmax_scores(P + static_cast<int64_t>(i) * Tk, Tk, a.scale, mrow, a.maskStride[3], a.offset + i, a.causal,
                       a.window);
      }
    }
    const bool acc = hh > 0;
    // The products of width D read their operands in place where they can (packing costs as much as they do).
    if (!sgemm_direct(Tk, D, Tq, P, 1, Tk, dyb, yr, dv, kr, acc))
      sgemm_serial({Tk, D, Tq, P, Tk, true, dyb, yr, false, dv, kr, acc});     // dv (+)= Pᵀ dy
    sgemm_serial({Tq, Tk, D, dyb, yr, false, vb, kr, true, dS, Tk, false});    // dP = dy vᵀ
    softmax_grad_rows(P, dS, Tq, Tk, a.scale);                                 // dS · scale
    if (!sgemm_direct(Tq, D, Tk, dS, Tk, 1, kb, kr, dq, qr, false))
      sgemm_serial({Tq, D, Tk, dS, Tk, false, kb, kr, false, dq, qr, false});  // dq = dS k
    if (!sgemm_direct(Tk, D, Tq, dS, 1, Tk, qb, qr, dk, kr, acc))
      sgemm_serial({Tk, D, Tq, dS, Tk, true, qb, qr, false, dk, kr, acc});     // dk (+)= dSᵀ q
    if (a.packedQkv)  // tokens past the queries asked for nothing: their q gets no gradient
      for (int i = Tq; i < Tk; i++) std::fill(dq + static_cast<int64_t>(i) * qr, dq + static_cast<int64_t>(i) * qr + D, 0.f);
  }
}

BIRDVLM_SIMD void swiglu_rows(const float* x, float* out, int64_t r0, int64_t r1, int64_t I) {
  for (int64_t r = r0; r < r1; r++) {
    const float* gate = x + r * 2 * I;
    const float* up = gate + I;
    float* o = out + r * I;
    // As the composition: up * (gate * sigmoid(gate)), sigmoid = 1 / (1 + exp(-gate)).
    for (int64_t j = 0; j < I; j++) o[j] = up[j] * (gate[j] * (1.0f / (1.0f + fast_exp(-gate[j]))));
  }
}

}  // namespace

void attention(const AttentionArgs& a) {
  const int bh = a.B * a.H;
  if (bh == 0 || a.Tq == 0 || a.D == 0) return;
  if (a.Tk == 0) {
    std::fill(a.out, a.out + static_cast<int64_t>(bh) * a.Tq * a.D, 0.f);  // as softmax over no keys, times no values
    return;
  }
  const int threads = pool().size();
  const double flops = 4.0 * bh * a.Tq * static_cast<double>(a.Tk) * a.D;
  // Blocks of query rows per head: enough tasks for every thread to get several (an even share on a busy machine).
  int blocks = 1;
  if (threads > 1 && flops >= kSerialFlops) {
    blocks = std::max(1, (6 * threads + bh - 1) / bh);
    blocks = std::min(blocks, std::max(1, (a.Tq + 15) / 16));
  }
  // A thread's scores stay at most ~4 MB (long prompts): more, smaller blocks of rows.
  blocks = std::max<int64_t>(blocks, (static_cast<int64_t>(a.Tq) * a.Tk + (1 << 20) - 1) >> 20);
  const int rowsPer = (a.Tq + blocks - 1) / blocks;
  const int tasks = bh * blocks;
  // Several blocks of rows per kv head: pack its K and V once for all of them (in parallel, before).
  PackedKV packed;
  const int kvHeads = a.B * a.Hkv;
  const int headsPerKv = a.H / a.Hkv;
  const int64_t packedFloats = kvHeads * (packed_b_floats(a.D, a.Tk) + packed_b_floats(a.Tk, a.D));
  if (rowsPer >= kGemmRows && blocks * headsPerKv > 1 && threads > 1 && flops >= kSerialFlops &&
      packedFloats <= (int64_t{1} << 23)) {  // at most 32 MB of packed K and V kept
    static float* buffer = nullptr;  // one caller at a time (the JavaScript thread)
    static int64_t capacity = 0;
    packed.kFloats = packed_b_floats(a.D, a.Tk);
    packed.vFloats = packed_b_floats(a.Tk, a.D);
    const int64_t need = kvHeads * (packed.kFloats + packed.vFloats);
    if (capacity < need) {
      std::free(buffer);
      capacity = need;
      buffer = static_cast<float*>(std::aligned_alloc(64, sizeof(float) * capacity));
    }
    packed.data = buffer;
    pool().run(2 * kvHeads, [&](int t) {
      const int kvHead = t / 2;
      const View kv = kv_view(a);
      const float* base = (t % 2 == 0 ? a.k : a.v) + kv.at(kvHead / a.Hkv, kvHead % a.Hkv, 0);
      float* dst = buffer + kvHead * (packed.kFloats + packed.vFloats) + (t % 2 == 0 ? 0 : packed.kFloats);
      if (t % 2 == 0)
        pack_b_whole(base, static_cast<int>(kv.row), true, a.D, a.Tk, dst);   // kᵀ: [D, Tk]
      else
        pack_b_whole(base, static_cast<int>(kv.row), false, a.Tk, a.D, dst);  // v: [Tk, D]
    });
  }
  auto task = [&](int t) {
    thread_local std::vector<float> scratch;
    const int head = t / blocks, blk = t % blocks;
    const int i0 = blk * rowsPer, i1 = std::min(a.Tq, i0 + rowsPer);
    if (i0 < i1) attend_rows(a, packed, head / a.H, head % a.H, i0, i1, scratch);
  };
  if (threads == 1 || flops < kSerialFlops) {
    for (int t = 0; t < tasks; t++) task(t);
  } else {
    pool().run(tasks, task);
  }
}

void swiglu(const float* x, float* out, int64_t rows, int64_t I) {
  parallel_for(rows, std::max<int64_t>(1, (1 << 15) / std::max<int64_t>(2 * I, 1)),
               [&](int64_t b, int64_t e) { swiglu_rows(x, out, b, e, I); });
}

void attention_grad(const AttentionGradArgs& g) {
  const AttentionArgs& a = g.fwd;
  const int tasks = a.B * a.Hkv;
  const int64_t kvFloats = static_cast<int64_t>(tasks) * a.capK * a.D;
  if (a.Tk < a.capK && !a.packedQkv) {  // positions past Tk are not keys: their gradients are zero
    std::fill(g.dk, g.dk + kvFloats, 0.f);
    std::fill(g.dv, g.dv + kvFloats, 0.f);
  }
  if (tasks == 0 || a.Tq == 0 || a.D == 0) return;
  if (a.Tk == 0) {
    std::fill(g.dq, g.dq + static_cast<int64_t>(a.B) * a.H * a.Tq * a.D, 0.f);
    return;
  }
  auto task = [&](int t) {
    thread_local std::vector<float> scratch;
    attention_grad_kv_head(g, t / a.Hkv, t % a.Hkv, scratch);
  };
  const double flops = 8.0 * a.B * a.H * a.Tq * static_cast<double>(a.Tk) * a.D;
  if (pool().size() == 1 || flops < kSerialFlops || tasks == 1) {
    for (int t = 0; t < tasks; t++) task(t);
  } else {
    pool().run(tasks, task);
  }
}

}  // namespace birdvlm
