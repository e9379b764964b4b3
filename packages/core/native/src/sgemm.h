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
 * C at i * M * N. Splits batches, then rows or columns, among the threads.
 */
void sgemm_batched(int batch, const int32_t* aIndex, const int32_t* bIndex, int M, int N, int K, const float* A,
                   bool transA, const float* B, bool transB, float* C);

/** Name of the micro-kernel in use: "avx512", "avx2" or "generic". */
const char* sgemm_isa();

}  // namespace birdvlm
