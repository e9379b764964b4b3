// Elementwise, softmax, reduction and transpose kernels over float32 buffers, threaded over the pool.
#pragma once
#include <cstdint>

namespace birdvlm {

enum class Unary : int { Exp = 0, Erf, Tanh, Sigmoid, Relu, Sqrt, Rsqrt, Log, Neg, Abs, Square, Relu6, Elu, GeluErf, GeluTanh, Silu };
enum class Binary : int { Add = 0, Sub, Mul, Div, Max, Min, SquaredDiff, Pow };
enum class Reduce : int { Sum = 0, Max, Min, Mean, Prod };

/** out[i] = f(x[i]) for i < n. */
void unary(Unary op, const float* x, float* out, int64_t n);
/** Leaky ReLU with slope `alpha` for negatives. */
void leaky_relu(const float* x, float* out, int64_t n, float alpha);

/**
 * out = a (op) b over an output of `rank` dims (at most 8) where aStrides/bStrides give each input's stride per
 * output dim (0 where that input broadcasts).
 */
void binary(Binary op, const float* a, const float* b, float* out, int rank, const int64_t* shape,
            const int64_t* aStrides, const int64_t* bStrides);

/** Softmax along the last axis of a [rows, cols] view. */
void softmax(const float* x, float* out, int64_t rows, int64_t cols);

/** Reduces the middle axis of a [P, R, Q] view into out[P, Q]. */
void reduce(Reduce op, const float* x, float* out, int64_t P, int64_t R, int64_t Q);

/** out = transpose(x, perm) for x of `rank` dims (at most 8). */
void transpose(const float* x, float* out, int rank, const int64_t* shape, const int32_t* perm);

/** out[i0..] = x[sum_d i_d * stride[d]]: a strided gather into a dense output of `rank` dims (at most 8). */
void strided_copy(const float* x, float* out, int rank, const int64_t* outShape, const int64_t* stride);

/**
 * LayerNorm (or RMSNorm when `rms`) over the last axis of [rows, C]: (x - mean) / sqrt(var + eps) * gamma + beta,
 * or x / sqrt(mean(x^2) + eps) * gamma; `beta` may be null.
 */
void norm_rows(const float* x, float* out, int64_t rows, int64_t C, const float* gamma, const float* beta, float eps, bool rms);

/** Applies bias (length n, or 1) along the last axis of [rows, n], then the activation (Unary code, or -1). */
void bias_activation(float* c, int64_t rows, int64_t n, const float* bias, int64_t biasLen, int act, float alpha);

/** As `bias_activation` on the calling thread, for a block of rows `ldc` apart (a GEMM's output tile). */
void bias_activation_block(float* c, int64_t rows, int64_t n, int64_t ldc, const float* bias, int64_t biasLen, int act,
                           float alpha);

/**
 * Backward of `bias_activation` for act GeluErf, GeluTanh or Silu (Unary codes): dx[r, j] = dy[r, j] * act'(x[r, j]
 * + bias[j]) over [rows, n] (bias may be null), and when `dbias` is not null dbias[j] = sum_r dx[r, j].
 */
void bias_activation_grad(const float* dy, const float* x, const float* bias, float* dx, float* dbias, int64_t rows,
                          int64_t n, int act);

/** How many chunks of rows a row-parallel kernel over [rows, n] splits into (1 when small or single-threaded). */
int64_t row_chunks(int64_t rows, int64_t n);

}  // namespace birdvlm
