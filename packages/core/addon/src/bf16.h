#pragma once
#include <cstdint>

namespace birdvlm {

/**
 * C[M,N] = A[M,K] · W[K,N] where W holds bfloat16 values (the top 16 bits of a float32), row-major [K, N]
 * with no padding, and A, C are float32 row-major. Products and sums in float32. Uses the pool:
 * M <= 16 (decoding) splits K among the threads (each streams whole rows of W, widening 16 or 8 values per
 * instruction, groups of four rows of A per pass), M > 16 widens column blocks of W to float32 (up to 32 MB)
 * and runs the SGEMM on them.
 */
void bf16_matmul(int M, int N, int K, const float* A, const uint16_t* W, float* C);

/** out[i, :] = W[rows[i], :] widened to float32, for W bf16 row-major [*, dim] (an embedding lookup); rows checked by the caller. */
void bf16_gather_rows(const uint16_t* W, int64_t dim, const int32_t* rows, int64_t n, float* out);

}  // namespace birdvlm
