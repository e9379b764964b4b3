// Matrix-vector products (M = 1): the decoding path's row times matrix, read once and split over the pool.
#pragma once
#include "sgemm.h"

namespace birdvlm {

// Row vector times matrix: C[1,N] (=|+=) a[K] · op(B)[K,N], columns j0..j1.
void gemv_row(const GemmProblem& p, int j0, int j1);

// out[j] = sum over k in [k0, k1) of a[k] * B[k, j] for j < N (B row-major with row stride ldb).
void gemv_rows(const float* a, const float* B, int ldb, int k0, int k1, int N, float* out);

// c[N] = a[K] · B[K, N] (B row-major, not transposed) over the pool, split along K; then the epilogue.
void gemv_split(const float* a, const float* B, float* c, int N, int K, const Epilogue& e);

}  // namespace birdvlm
