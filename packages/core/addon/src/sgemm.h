// Single-precision matrix products: cache-blocked, packed, with AVX-512 / AVX2 micro-kernels chosen at run time.
#pragma once
#include <cstdint>

namespace birdvlm {

/** C[M,N] (=|+=) op(A)[M,K] · op(B)[K,N], row-major; op transposes when the flag is set. Single thread. */
struct GemmProblem {
  int M, N, K;
  const float* A;
  int lda;
  bool transA;
  const float* B;
  int ldb;
  bool transB;
  float* C;
  int ldc;
  bool accumulate;
};

/** Serial product (the caller splits work among threads). */
void sgemm_serial(const GemmProblem& p);

/**
 * Batched product over the pool: for output batch i, A at aIndex[i] * strideA, B at bIndex[i] * strideB,
 * C at i * M * N. Splits batches, then rows or columns, among the threads. The epilogue (bias, then activation)
 * is applied to each piece of C right after it is computed, while it is in cache.
 */
struct Epilogue {
  const float* bias = nullptr;  // length N (or 1), added to every row of C
  int64_t biasLen = 0;
  int act = -1;                 // Unary code, -2 leaky ReLU, -1 none
  float alpha = 0.f;
  float* keep = nullptr;        // when set, receives the product before the bias and activation (laid out as C)
  /** Applies this epilogue to rows [r0, r0 + rows) and columns [c0, c0 + n) of the output C (row stride ldc). */
  void apply(float* C, int64_t r0, int64_t rows, int64_t c0, int64_t n, int64_t ldc) const;
};
void sgemm_batched(int batch, const int32_t* aIndex, const int32_t* bIndex, int M, int N, int K, const float* A,
                   bool transA, const float* B, bool transB, float* C, const Epilogue& epilogue = Epilogue());

/** Floats that `pack_b_whole` writes for op(B) of [K, N]. */
int64_t packed_b_floats(int K, int N);
/** Packs op(B)[K, N] (row-major with row stride ldb, transposed when transB) whole, for `sgemm_prepacked`; dst 64-byte aligned. */
void pack_b_whole(const float* B, int ldb, bool transB, int K, int N, float* dst);
/** C[M, N] (ldc) = op(A)[M, K] · B packed by `pack_b_whole`, on the calling thread (B packed once, used by many). */
void sgemm_prepacked(int M, int N, int K, const float* A, int lda, bool transA, const float* packedB, float* C, int ldc);

/**
 * C[M, N] (=|+=) A[M, K] · B[K, N] on the calling thread with no packing (sgemm_direct.cc): row i, column k of A
 * at A + i * rsA + k * csA (so a transposed A is rsA = 1, csA = its row length), B row-major with row stride ldb.
 * For small products whose packing would cost as much as the product (attention at a head's width). Returns
 * false, having done nothing, when N is not a multiple of 8 or the machine has no AVX2 (use `sgemm_serial`).
 */
bool sgemm_direct(int M, int N, int K, const float* A, int64_t rsA, int64_t csA, const float* B, int64_t ldb, float* C,
                  int64_t ldc, bool accumulate);

/** Name of the micro-kernel in use: "avx512", "avx2" or "generic". */
const char* sgemm_isa();

/**
 * Whether the hand-written AVX2 + FMA kernels run (the SGEMM's choice is not "generic": AVX-512 machines have
 * both; `BIRDVLM_NO_AVX2` turns them off with it).
 */
bool avx2_fma();

}  // namespace birdvlm
