// AVX2 packing for the 6 x 16 micro-kernel (sgemm.cc): six-row panels of A (dst[k * 6 + r] = op(A)[r, k]) and
// sixteen-column panels of B, transposed or not (dst[k * 16 + c] = op(B)[k, c]).
#pragma once
#include <cstdint>

namespace birdvlm {

/**
 * Six rows of a row-major A (row r at src + r * lda, depth k contiguous), kc deep, 8 depths at a time through an
 * 8 x 8 register transpose. Writes 2 floats past dst[kc * 6] (the caller's buffer has room; the next panel
 * overwrites them).
 */
void pack6_rows_avx2(const float* src, int64_t lda, int kc, float* dst);

/**
 * Six rows of op(A) = Aᵀ (the six values of depth k contiguous at src + k * lda), kc ≥ 1 deep: one 8-float load
 * and store per depth (the last depth one float at a time: its extra floats could lie past A). Writes 2 floats
 * past dst[kc * 6], as `pack6_rows_avx2`.
 */
void pack6_cols_avx2(const float* src, int64_t lda, int kc, float* dst);

/**
 * Sixteen columns of op(B) = Bᵀ (column c, depth k at src + c * ldb + k), kc deep, as the 16-wide panel the AVX2
 * micro-kernel reads: dst[k * 16 + c], dst 32-byte aligned.
 */
void pack16_cols_avx2(const float* src, int64_t ldb, int kc, float* dst);

/**
 * Sixteen columns of a row-major B (depth k's sixteen values contiguous at src + k * ldb), kc deep:
 * dst[k * 16 + c], dst 32-byte aligned. Two loads and two stores a depth, inline (a `memcpy` call of 64 bytes
 * costs as much as the copy).
 */
void pack16_rows_avx2(const float* src, int64_t ldb, int kc, float* dst);

}  // namespace birdvlm
