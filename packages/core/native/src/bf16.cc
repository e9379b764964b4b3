// Products with bfloat16 weights (Phi-3's checkpoints): y = x · W with W [K, N] stored as uint16 bf16 bits.
#include "bf16.h"

#include <immintrin.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "sgemm.h"
#include "thread_pool.h"

namespace birdvlm {
namespace {

inline float widen(uint16_t h) {
  const uint32_t bits = static_cast<uint32_t>(h) << 16;
  float f;
  std::memcpy(&f, &bits, sizeof f);
  return f;
}

// 16 (8) bf16 values widened to float32: zero-extend to 32 bits, shift into the high half.
__attribute__((target("avx512f"))) inline __m512 load16(const uint16_t* p) {
  return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p))), 16));
}
__attribute__((target("avx2"))) inline __m256 load8(const uint16_t* p) {
  return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p))), 16));
}

// out[j] (=) sum over k in [k0, k1) of a[k] * W[k, j], for j < N: column blocks that stay in L1, four rows of W
// per pass (same order of sums as the float32 gemv_rows: ((a0 w0 + a1 w1) + a2 w2) + a3 w3 added to out).
__attribute__((target("avx512f,fma"))) void rows_avx512(const float* a, const uint16_t* W, int N, int k0, int k1, float* out) {
  constexpr int JB = 2048;
  for (int jb = 0; jb < N; jb += JB) {
    const int je = std::min(N, jb + JB);
    std::fill(out + jb, out + je, 0.f);
    const int jv = jb + (je - jb) / 16 * 16;
    int k = k0;
    for (; k + 4 <= k1; k += 4) {
      const __m512 a0 = _mm512_set1_ps(a[k]), a1 = _mm512_set1_ps(a[k + 1]), a2 = _mm512_set1_ps(a[k + 2]),
                   a3 = _mm512_set1_ps(a[k + 3]);
      const uint16_t* w0 = W + static_cast<int64_t>(k) * N;
      const uint16_t* w1 = w0 + N;
      const uint16_t* w2 = w1 + N;
      const uint16_t* w3 = w2 + N;
      for (int j = jb; j < jv; j += 16) {
        __m512 s = _mm512_mul_ps(a0, load16(w0 + j));
        s = _mm512_fmadd_ps(a1, load16(w1 + j), s);
        s = _mm512_fmadd_ps(a2, load16(w2 + j), s);
        s = _mm512_fmadd_ps(a3, load16(w3 + j), s);
        _mm512_storeu_ps(out + j, _mm512_add_ps(_mm512_loadu_ps(out + j), s));
      }
      for (int j = jv; j < je; j++)
        out[j] += a[k] * widen(w0[j]) + a[k + 1] * widen(w1[j]) + a[k + 2] * widen(w2[j]) + a[k + 3] * widen(w3[j]);
    }
    for (; k < k1; k++) {
      const float ak = a[k];
      const uint16_t* w0 = W + static_cast<int64_t>(k) * N;
      for (int j = jb; j < je; j++) out[j] += ak * widen(w0[j]);
    }
  }
}

__attribute__((target("avx2,fma"))) void rows_avx2(const float* a, const uint16_t* W, int N, int k0, int k1, float* out) {
  constexpr int JB = 2048;
  for (int jb = 0; jb < N; jb += JB) {
    const int je = std::min(N, jb + JB);
    std::fill(out + jb, out + je, 0.f);
    const int jv = jb + (je - jb) / 8 * 8;
    int k = k0;
    for (; k + 4 <= k1; k += 4) {
      const __m256 a0 = _mm256_set1_ps(a[k]), a1 = _mm256_set1_ps(a[k + 1]), a2 = _mm256_set1_ps(a[k + 2]),
                   a3 = _mm256_set1_ps(a[k + 3]);
      const uint16_t* w0 = W + static_cast<int64_t>(k) * N;
      const uint16_t* w1 = w0 + N;
      const uint16_t* w2 = w1 + N;
      const uint16_t* w3 = w2 + N;
      for (int j = jb; j < jv; j += 8) {
        __m256 s = _mm256_mul_ps(a0, load8(w0 + j));
        s = _mm256_fmadd_ps(a1, load8(w1 + j), s);
        s = _mm256_fmadd_ps(a2, load8(w2 + j), s);
        s = _mm256_fmadd_ps(a3, load8(w3 + j), s);
        _mm256_storeu_ps(out + j, _mm256_add_ps(_mm256_loadu_ps(out + j), s));
      }
      for (int j = jv; j < je; j++)
        out[j] += a[k] * widen(w0[j]) + a[k + 1] * widen(w1[j]) + a[k + 2] * widen(w2[j]) + a[k + 3] * widen(w3[j]);
    }
    for (; k < k1; k++) {
      const float ak = a[k];
      const uint16_t* w0 = W + static_cast<int64_t>(k) * N;
      for (int j = jb; j < je; j++) out[j] += ak * widen(w0[j]);
    }
  }
}

void rows_generic(const float* a, const uint16_t* W, int N, int k0, int k1, float* out) {
  std::fill(out, out + N, 0.f);
  for (int k = k0; k < k1; k++) {
    const float ak = a[k];
    const uint16_t* w0 = W + static_cast<int64_t>(k) * N;
    for (int j = 0; j < N; j++) out[j] += ak * widen(w0[j]);
  }
}

using RowsFn = void (*)(const float*, const uint16_t*, int, int, int, float*);

RowsFn pick_rows() {
  __builtin_cpu_init();
  if (!std::getenv("BIRDVLM_NO_AVX512") && __builtin_cpu_supports("avx512f")) return rows_avx512;
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return rows_avx2;
  return rows_generic;
}

RowsFn rows() {
  static const RowsFn chosen = pick_rows();
  return chosen;
}

// c[N] = a[K] · W[K, N] over the pool, split along K; the partial rows are summed at the end.
void gemv(int N, int K, const float* a, const uint16_t* W, float* c) {
  const int threads = pool().size();
  const int parts = threads == 1 ? 1 : std::min(2 * threads, std::max(1, K / 64));
  static std::vector<float> partial;  // one caller at a time (the JavaScript thread)
  if (parts == 1) {
    rows()(a, W, N, 0, K, c);
    return;
  }
  if (partial.size() < static_cast<size_t>(parts) * N) partial.resize(static_cast<size_t>(parts) * N);
  const int step = ((K + parts - 1) / parts + 3) / 4 * 4;
  float* buf = partial.data();
  pool().run(parts, [&](int t) {
    const int k0 = std::min(K, t * step), k1 = std::min(K, k0 + step);
    rows()(a, W, N, k0, k1, buf + static_cast<int64_t>(t) * N);
  });
  for (int j = 0; j < N; j++) c[j] = buf[j];
  for (int p = 1; p < parts; p++) {
    const float* src = buf + static_cast<int64_t>(p) * N;
    for (int j = 0; j < N; j++) c[j] += src[j];
  }
}

// dst[k, 0:nb] = W[k, j0:j0+nb] widened, for k in [k0, k1).
__attribute__((target_clones("avx512f", "avx2", "default"))) void widen_block(const uint16_t* W, int N, int j0, int nb, int k0,
                                                                              int k1, float* dst) {
  for (int k = k0; k < k1; k++) {
    const uint16_t* src = W + static_cast<int64_t>(k) * N + j0;
    uint32_t* d = reinterpret_cast<uint32_t*>(dst + static_cast<int64_t>(k) * nb);
    for (int j = 0; j < nb; j++) d[j] = static_cast<uint32_t>(src[j]) << 16;
  }
}

// C = A · W for M > 1: W widened to float32 one column block at a time (at most 8M floats, 32 MB; the whole of
// W when it fits), each block multiplied by the pool's SGEMM (its own split of rows or columns among the threads).
void gemm(int M, int N, int K, const float* A, const uint16_t* W, float* C) {
  const int threads = pool().size();
  const int NB = std::max(16, std::min(N, (1 << 23) / std::max(K, 1) / 16 * 16));
  static std::vector<float> wide, block;  // one caller at a time (the JavaScript thread)
  if (wide.size() < static_cast<size_t>(K) * NB) wide.resize(static_cast<size_t>(K) * NB);
  if (NB < N && block.size() < static_cast<size_t>(M) * NB) block.resize(static_cast<size_t>(M) * NB);
  const int32_t zero = 0;
  for (int j0 = 0; j0 < N; j0 += NB) {
    const int nb = std::min(NB, N - j0);
    const int wparts = std::min(2 * threads, std::max(1, K / 16));
    pool().run(wparts, [&](int t) {
      const int k0 = static_cast<int>(static_cast<int64_t>(K) * t / wparts), k1 = static_cast<int>(static_cast<int64_t>(K) * (t + 1) / wparts);
      widen_block(W, N, j0, nb, k0, k1, wide.data());
    });
    float* out = nb == N ? C : block.data();
    sgemm_batched(1, &zero, &zero, M, nb, K, A, false, wide.data(), false, out);
    if (out != C)
      for (int i = 0; i < M; i++)
        std::memcpy(C + static_cast<int64_t>(i) * N + j0, out + static_cast<int64_t>(i) * nb, sizeof(float) * nb);
  }
}

}  // namespace

void bf16_matmul(int M, int N, int K, const float* A, const uint16_t* W, float* C) {
  if (M <= 0 || N <= 0) return;
  if (K == 0) {
    std::fill(C, C + static_cast<int64_t>(M) * N, 0.f);
    return;
  }
  if (M == 1)
    gemv(N, K, A, W, C);
  else
    gemm(M, N, K, A, W, C);
}

}  // namespace birdvlm
