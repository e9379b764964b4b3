// Matrix-vector products (M = 1), split out of sgemm.cc: see gemv.h.
#include "gemv.h"

#include <algorithm>
#include <vector>

#include "elementwise.h"
#include "thread_pool.h"

namespace birdvlm {
namespace {

__attribute__((target_clones("avx512f", "avx2", "default"))) void sum_parts(const float* parts, int count, int N, float* c) {
  for (int j = 0; j < N; j++) c[j] = parts[j];
  for (int p = 1; p < count; p++)
    for (int j = 0; j < N; j++) c[j] += parts[static_cast<int64_t>(p) * N + j];
}

}  // namespace

// Row vector times matrix: C[1,N] (=|+=) a[K] · op(B)[K,N].
__attribute__((target_clones("avx512f", "avx2", "default"))) void gemv_row(const GemmProblem& p, int j0, int j1) {
  if (!p.transB) {
    float* c = p.C;
    if (!p.accumulate) std::fill(c + j0, c + j1, 0.f);
    for (int k = 0; k < p.K; k++) {
      float ak = p.transA ? p.A[static_cast<int64_t>(k) * p.lda] : p.A[k];
      const float* b = p.B + static_cast<int64_t>(k) * p.ldb;
      for (int j = j0; j < j1; j++) c[j] += ak * b[j];
    }
  } else {
    for (int j = j0; j < j1; j++) {
      const float* b = p.B + static_cast<int64_t>(j) * p.ldb;
      float s = 0.f;
      if (!p.transA)
        for (int k = 0; k < p.K; k++) s += p.A[k] * b[k];
      else
        for (int k = 0; k < p.K; k++) s += p.A[static_cast<int64_t>(k) * p.lda] * b[k];
      p.C[j] = p.accumulate ? p.C[j] + s : s;
    }
  }
}

// out[j] = sum over k in [k0, k1) of a[k] * B[k, j] for j < N (B row-major with row stride ldb), in column
// blocks that stay in L1, four rows of B per pass over the block: each thread streams whole rows of B.
__attribute__((target_clones("avx512f", "avx2", "default"))) void gemv_rows(const float* a, const float* B, int ldb,
                                                                             int k0, int k1, int N, float* out) {
  constexpr int JB = 2048;
  for (int jb = 0; jb < N; jb += JB) {
    const int je = std::min(N, jb + JB);
    std::fill(out + jb, out + je, 0.f);
    int k = k0;
    for (; k + 4 <= k1; k += 4) {
      const float a0 = a[k], a1 = a[k + 1], a2 = a[k + 2], a3 = a[k + 3];
      const float* b0 = B + static_cast<int64_t>(k) * ldb;
      const float* b1 = b0 + ldb;
      const float* b2 = b1 + ldb;
      const float* b3 = b2 + ldb;
      for (int j = jb; j < je; j++) out[j] += a0 * b0[j] + a1 * b1[j] + a2 * b2[j] + a3 * b3[j];
    }
    for (; k < k1; k++) {
      const float ak = a[k];
      const float* b0 = B + static_cast<int64_t>(k) * ldb;
      for (int j = jb; j < je; j++) out[j] += ak * b0[j];
    }
  }
}

// c[N] = a[K] · B[K, N] (B row-major, not transposed) over the pool, split along K so that each thread streams
// contiguous rows of B (DRAM-bound when decoding); the partial rows are summed at the end.
void gemv_split(const float* a, const float* B, float* c, int N, int K, const Epilogue& e) {
  const int threads = pool().size();
  const int parts = std::min(2 * threads, std::max(1, K / 64));
  static std::vector<float> partial;  // one caller at a time (the JavaScript thread)
  if (partial.size() < static_cast<size_t>(parts) * N) partial.resize(static_cast<size_t>(parts) * N);
  const int step = ((K + parts - 1) / parts + 3) / 4 * 4;
  float* buf = partial.data();
  pool().run(parts, [&](int t) {
    const int k0 = std::min(K, t * step), k1 = std::min(K, k0 + step);
    gemv_rows(a, B, N, k0, k1, N, buf + static_cast<int64_t>(t) * N);
  });
  sum_parts(buf, parts, N, c);
  e.apply(c, 0, 1, 0, N, N);
}

}  // namespace birdvlm
