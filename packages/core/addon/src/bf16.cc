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

constexpr int kGemvRows = 16;  // up to this many rows of x, W is streamed (widened in registers), not widened whole

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

// For the rows r < M of a (row stride lda): out[r, j] (=) sum over k in [k0, k1) of a[r, k] * W[k, j], j < N (out's
// row stride N). Column blocks of W are read once from memory and kept in L2 while groups of up to four rows
// go over them; four rows of W per pass, widened once for the whole group.
template <int R>
__attribute__((target("avx512f,fma"))) void group_avx512(const float* a, int lda, const uint16_t* W, int N, int k0, int k1,
                                                         int jb, int je, float* out) {
  const int jv = jb + (je - jb) / 16 * 16;
  int k = k0;
  for (; k + 4 <= k1; k += 4) {
    const uint16_t* w0 = W + static_cast<int64_t>(k) * N;
    const uint16_t* w1 = w0 + N;
    const uint16_t* w2 = w1 + N;
    const uint16_t* w3 = w2 + N;
    for (int j = jb; j < jv; j += 16) {
      const __m512 v0 = load16(w0 + j), v1 = load16(w1 + j), v2 = load16(w2 + j), v3 = load16(w3 + j);
#pragma GCC unroll 4
      for (int r = 0; r < R; r++) {
        const float* ar = a + static_cast<int64_t>(r) * lda + k;
        __m512 s = _mm512_mul_ps(_mm512_set1_ps(ar[0]), v0);
        s = _mm512_fmadd_ps(_mm512_set1_ps(ar[1]), v1, s);
        s = _mm512_fmadd_ps(_mm512_set1_ps(ar[2]), v2, s);
        s = _mm512_fmadd_ps(_mm512_set1_ps(ar[3]), v3, s);
        float* o = out + static_cast<int64_t>(r) * N + j;
        _mm512_storeu_ps(o, _mm512_add_ps(_mm512_loadu_ps(o), s));
      }
    }
    for (int j = jv; j < je; j++)
      for (int r = 0; r < R; r++) {
        const float* ar = a + static_cast<int64_t>(r) * lda + k;
        out[static_cast<int64_t>(r) * N + j] += ar[0] * widen(w0[j]) + ar[1] * widen(w1[j]) + ar[2] * widen(w2[j]) + ar[3] * widen(w3[j]);
      }
  }
  for (; k < k1; k++) {
    const uint16_t* w0 = W + static_cast<int64_t>(k) * N;
    for (int r = 0; r < R; r++) {
      const float ak = a[static_cast<int64_t>(r) * lda + k];
      for (int j = jb; j < je; j++) out[static_cast<int64_t>(r) * N + j] += ak * widen(w0[j]);
    }
  }
}

template <int R>
__attribute__((target("avx2,fma"))) void group_avx2(const float* a, int lda, const uint16_t* W, int N, int k0, int k1, int jb,
                                                    int je, float* out) {
  const int jv = jb + (je - jb) / 8 * 8;
  int k = k0;
  for (; k + 4 <= k1; k += 4) {
    const uint16_t* w0 = W + static_cast<int64_t>(k) * N;
    const uint16_t* w1 = w0 + N;
    const uint16_t* w2 = w1 + N;
    const uint16_t* w3 = w2 + N;
    for (int j = jb; j < jv; j += 8) {
      const __m256 v0 = load8(w0 + j), v1 = load8(w1 + j), v2 = load8(w2 + j), v3 = load8(w3 + j);
#pragma GCC unroll 4
      for (int r = 0; r < R; r++) {
        const float* ar = a + static_cast<int64_t>(r) * lda + k;
        __m256 s = _mm256_mul_ps(_mm256_broadcast_ss(ar), v0);
        s = _mm256_fmadd_ps(_mm256_broadcast_ss(ar + 1), v1, s);
        s = _mm256_fmadd_ps(_mm256_broadcast_ss(ar + 2), v2, s);
        s = _mm256_fmadd_ps(_mm256_broadcast_ss(ar + 3), v3, s);
        float* o = out + static_cast<int64_t>(r) * N + j;
        _mm256_storeu_ps(o, _mm256_add_ps(_mm256_loadu_ps(o), s));
      }
    }
    for (int j = jv; j < je; j++)
      for (int r = 0; r < R; r++) {
        const float* ar = a + static_cast<int64_t>(r) * lda + k;
        out[static_cast<int64_t>(r) * N + j] += ar[0] * widen(w0[j]) + ar[1] * widen(w1[j]) + ar[2] * widen(w2[j]) + ar[3] * widen(w3[j]);
      }
  }
  for (; k < k1; k++) {
    const uint16_t* w0 = W + static_cast<int64_t>(k) * N;
    for (int r = 0; r < R; r++) {
      const float ak = a[static_cast<int64_t>(r) * lda + k];
      for (int j = jb; j < je; j++) out[static_cast<int64_t>(r) * N + j] += ak * widen(w0[j]);
    }
  }
}

template <int R>
void group_generic(const float* a, int lda, const uint16_t* W, int N, int k0, int k1, int jb, int je, float* out) {
  for (int k = k0; k < k1; k++) {
    const uint16_t* w0 = W + static_cast<int64_t>(k) * N;
    for (int r = 0; r < R; r++) {
      const float ak = a[static_cast<int64_t>(r) * lda + k];
      for (int j = jb; j < je; j++) out[static_cast<int64_t>(r) * N + j] += ak * widen(w0[j]);
    }
  }
}

using GroupFn = void (*)(const float*, int, const uint16_t*, int, int, int, int, int, float*);

struct GroupKernels {
  GroupFn byRows[5];
};

GroupKernels pick_groups() {
  __builtin_cpu_init();
  if (!std::getenv("BIRDVLM_NO_AVX512") && __builtin_cpu_supports("avx512f"))
    return {{nullptr, group_avx512<1>, group_avx512<2>, group_avx512<3>, group_avx512<4>}};
  if (!std::getenv("BIRDVLM_NO_AVX2") && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
    return {{nullptr, group_avx2<1>, group_avx2<2>, group_avx2<3>, group_avx2<4>}};
  return {{nullptr, group_generic<1>, group_generic<2>, group_generic<3>, group_generic<4>}};
}

const GroupKernels& groups() {
  static const GroupKernels chosen = pick_groups();
  return chosen;
}

// out[M, N] = a[M, K] (rows k0..k1 of the sum) · W: column blocks of W, each read from memory once for all rows.
void rows_block(int M, const float* a, const uint16_t* W, int N, int K, int k0, int k1, float* out) {
  const int JB = M <= 4 ? 2048 : 1024;
  std::fill(out, out + static_cast<int64_t>(M) * N, 0.f);
  for (int jb = 0; jb < N; jb += JB) {
    const int je = std::min(N, jb + JB);
    for (int r0 = 0; r0 < M; r0 += 4) {
      const int R = std::min(4, M - r0);
      groups().byRows[R](a + static_cast<int64_t>(r0) * K, K, W, N, k0, k1, jb, je, out + static_cast<int64_t>(r0) * N);
    }
  }
}

// c[M, N] = a[M, K] · W[K, N] for a few rows (decoding): over the pool, split along K (each thread streams whole
// rows of W, DRAM-bound), the partial products summed at the end.
void gemv(int M, int N, int K, const float* a, const uint16_t* W, float* c) {
  const int threads = pool().size();
  const int parts = threads == 1 ? 1 : std::min(2 * threads, std::max(1, K / 64));
  if (parts == 1) {
    rows_block(M, a, W, N, K, 0, K, c);
    return;
  }
  static std::vector<float> partial;  // one caller at a time (the JavaScript thread)
  const int64_t size = static_cast<int64_t>(M) * N;
  if (partial.size() < static_cast<size_t>(parts * size)) partial.resize(static_cast<size_t>(parts * size));
  const int step = ((K + parts - 1) / parts + 3) / 4 * 4;
  float* buf = partial.data();
  pool().run(parts, [&](int t) {
    const int k0 = std::min(K, t * step), k1 = std::min(K, k0 + step);
    rows_block(M, a, W, N, K, k0, k1, buf + t * size);
  });
  // The sum of the parts, shared among the threads by rows of c.
  pool().run(std::min(M, threads), [&](int t) {
    const int r0 = M * t / std::min(M, threads), r1 = M * (t + 1) / std::min(M, threads);
    for (int64_t i = static_cast<int64_t>(r0) * N; i < static_cast<int64_t>(r1) * N; i++) {
      float s = buf[i];
      for (int p = 1; p < parts; p++) s += buf[p * size + i];
      c[i] = s;
    }
  });
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

void bf16_gather_rows(const uint16_t* W, int64_t dim, const int32_t* rows, int64_t n, float* out) {
  for (int64_t i = 0; i < n; i++) widen_block(W + rows[i] * dim, static_cast<int>(dim), 0, static_cast<int>(dim), 0, 1, out + i * dim);
}

void bf16_matmul(int M, int N, int K, const float* A, const uint16_t* W, float* C) {
  if (M <= 0 || N <= 0) return;
  if (K == 0) {
    std::fill(C, C + static_cast<int64_t>(M) * N, 0.f);
    return;
  }
  if (M <= kGemvRows)
    gemv(M, N, K, A, W, C);
  else
    gemm(M, N, K, A, W, C);
}

}  // namespace birdvlm
