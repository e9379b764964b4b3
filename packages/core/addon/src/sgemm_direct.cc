// Products read in place, with no packing: for the small products inside attention, whose width is a head's
// (64, 80, 128), packing an operand costs as much as the product itself.
#include <immintrin.h>

#include <cstdint>
#include <cstring>
#include <vector>

#include "sgemm.h"
#include "sgemm_pack.h"

namespace birdvlm {
namespace {

// C[R, W] (=|+=) A[R, K] · B[K, W] for R ≤ 6 rows and W = 8 * V columns (V = 1 or 2): row i, column k of A at
// a + i * rs + k * cs; row k of B at b + k * ldb. The accumulators stay in registers across the whole depth.
template <int R, int V>
__attribute__((target("avx2,fma"))) void tile_avx2(int K, const float* a, int64_t rs, int64_t cs, const float* b,
                                                  int64_t ldb, float* c, int64_t ldc, bool accumulate) {
  __m256 acc[R][V];
#pragma GCC unroll 6
  for (int i = 0; i < R; i++)
#pragma GCC unroll 2
    for (int v = 0; v < V; v++) acc[i][v] = _mm256_setzero_ps();
  for (int k = 0; k < K; k++) {
    const float* bk = b + k * ldb;
    const float* ak = a + k * cs;
    __m256 bv[V];
#pragma GCC unroll 2
    for (int v = 0; v < V; v++) bv[v] = _mm256_loadu_ps(bk + 8 * v);
#pragma GCC unroll 6
    for (int i = 0; i < R; i++) {
      const __m256 ai = _mm256_broadcast_ss(ak + i * rs);
#pragma GCC unroll 2
      for (int v = 0; v < V; v++) acc[i][v] = _mm256_fmadd_ps(ai, bv[v], acc[i][v]);
    }
  }
#pragma GCC unroll 6
  for (int i = 0; i < R; i++)
#pragma GCC unroll 2
    for (int v = 0; v < V; v++) {
      float* ci = c + i * ldc + 8 * v;
      _mm256_storeu_ps(ci, accumulate ? _mm256_add_ps(acc[i][v], _mm256_loadu_ps(ci)) : acc[i][v]);
    }
}

using Tile = void (*)(int, const float*, int64_t, int64_t, const float*, int64_t, float*, int64_t, bool);

template <int V>
Tile tile_for(int rows) {
  switch (rows) {
    case 1: return tile_avx2<1, V>;
    case 2: return tile_avx2<2, V>;
    case 3: return tile_avx2<3, V>;
    case 4: return tile_avx2<4, V>;
    case 5: return tile_avx2<5, V>;
    default: return tile_avx2<6, V>;
  }
}

}  // namespace

bool sgemm_direct(int M, int N, int K, const float* A, int64_t rsA, int64_t csA, const float* B, int64_t ldb, float* C,
                  int64_t ldc, bool accumulate) {
  if (N % 8 != 0 || !avx2_fma()) return false;
  if (M <= 0 || N <= 0) return true;
  // Column panels outside, rows inside: each panel of B (K x 16) is copied to contiguous rows once, so that it stays
  // in L1 while every block of rows reads it (B's own rows are often a multiple of 4 KB apart, and would fall on a
  // few cache sets); A is read where it is.
  thread_local std::vector<float> store;
  if (store.size() < static_cast<size_t>(K) * 16 + 8) store.resize(static_cast<size_t>(K) * 16 + 8);
  float* panel = reinterpret_cast<float*>((reinterpret_cast<uintptr_t>(store.data()) + 31) & ~uintptr_t{31});
  for (int j = 0; j < N; j += 16) {
    const int width = N - j >= 16 ? 16 : 8;
    if (width == 16)
      pack16_rows_avx2(B + j, ldb, K, panel);  // inline copies (a 64-byte memcpy call costs as much as the copy)
    else
      for (int k = 0; k < K; k++) std::memcpy(panel + k * 8, B + k * ldb + j, sizeof(float) * 8);
    for (int i = 0; i < M; i += 6) {
      const int rows = M - i < 6 ? M - i : 6;
      const Tile tile = width == 16 ? tile_for<2>(rows) : tile_for<1>(rows);
      tile(K, A + i * rsA, rsA, csA, panel, width, C + i * ldc + j, ldc, accumulate);
    }
  }
  return true;
}

}  // namespace birdvlm
