#include "elementwise.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "fast_math.h"
#include "sgemm.h"
#include "thread_pool.h"

namespace birdvlm {
namespace {

constexpr int64_t kGrain = 1 << 15;
#define BIRDVLM_SIMD __attribute__((target_clones("avx512f", "avx2", "default")))

// GELU (erf form), the ViT's activation, on AVX2 + FMA where the machine has them: the compiler's vector form of the
// scalar loops below has no FMA in its avx2 clone (the gradient of [2080, 768] on one thread: 2.3 ns an element
// against 1.4, which is what the memory gives).

// out[j] = gelu(x[j] + bias), bias per column (biasLen > 1), one value (1) or none (bias null); in place allowed.
__attribute__((target("avx2,fma"))) void bias_gelu_row_avx2(const float* x, float* out, int64_t n, const float* bias,
                                                          int64_t biasLen) {
  const bool perColumn = bias && biasLen > 1;
  const __m256 one = bias && biasLen == 1 ? _mm256_set1_ps(bias[0]) : _mm256_setzero_ps();
  const int64_t full = n & ~int64_t{7};
  for (int64_t j = 0; j < full; j += 8) {
    const __m256 z = _mm256_add_ps(_mm256_loadu_ps(x + j), perColumn ? _mm256_loadu_ps(bias + j) : one);
    _mm256_storeu_ps(out + j, gelu_erf8(z));
  }
  if (full < n) {
    const __m256i m = tail_mask8(n);
    const __m256 z = _mm256_add_ps(_mm256_maskload_ps(x + full, m), perColumn ? _mm256_maskload_ps(bias + full, m) : one);
    _mm256_maskstore_ps(out + full, m, gelu_erf8(z));
  }
}

// dx[j] = dy[j] · gelu'(x[j] + bias[j]) (bias may be null), and colSum[j] += dx[j] when colSum is set: eight
// columns from j (the first n % 8 of them when Masked).
template <bool Masked>
__attribute__((target("avx2,fma"))) inline void gelu_grad8_at(const float* dy, const float* x, const float* bias,
                                                             float* dx, float* colSum, int64_t j, __m256i m) {
  const auto load = [m](const float* p) __attribute__((target("avx2"))) {
    return Masked ? _mm256_maskload_ps(p, m) : _mm256_loadu_ps(p);
  };
  const __m256 z = bias ? _mm256_add_ps(load(x + j), load(bias + j)) : load(x + j);
  const __m256 d = _mm256_mul_ps(load(dy + j), gelu_erf_grad8(z));
  const __m256 sum = colSum ? _mm256_add_ps(load(colSum + j), d) : d;
  if (Masked) {
    _mm256_maskstore_ps(dx + j, m, d);
    if (colSum) _mm256_maskstore_ps(colSum + j, m, sum);
  } else {
    _mm256_storeu_ps(dx + j, d);
    if (colSum) _mm256_storeu_ps(colSum + j, sum);
  }
}
__attribute__((target("avx2,fma"))) void gelu_grad_row_avx2(const float* dy, const float* x, const float* bias, float* dx,
                                                          float* colSum, int64_t n) {
  const int64_t full = n & ~int64_t{7};
  for (int64_t j = 0; j < full; j += 8) gelu_grad8_at<false>(dy, x, bias, dx, colSum, j, _mm256_setzero_si256());
  if (full < n) gelu_grad8_at<true>(dy, x, bias, dx, colSum, full, tail_mask8(n));
}

BIRDVLM_SIMD void unary_range(Unary op, const float* x, float* out, int64_t b, int64_t e) {
  switch (op) {
    case Unary::Exp: for (int64_t i = b; i < e; i++) out[i] = fast_exp(x[i]); break;
    case Unary::Erf: for (int64_t i = b; i < e; i++) out[i] = fast_erf(x[i]); break;
    case Unary::Tanh: for (int64_t i = b; i < e; i++) out[i] = std::tanh(x[i]); break;
    case Unary::Sigmoid: for (int64_t i = b; i < e; i++) out[i] = 1.0f / (1.0f + fast_exp(-x[i])); break;
    case Unary::Relu: for (int64_t i = b; i < e; i++) out[i] = x[i] < 0 ? 0.f : x[i]; break;
    case Unary::Sqrt: for (int64_t i = b; i < e; i++) out[i] = std::sqrt(x[i]); break;
    case Unary::Rsqrt: for (int64_t i = b; i < e; i++) out[i] = 1.0f / std::sqrt(x[i]); break;
    case Unary::Log: for (int64_t i = b; i < e; i++) out[i] = std::log(x[i]); break;
    case Unary::Neg: for (int64_t i = b; i < e; i++) out[i] = -x[i]; break;
    case Unary::Abs: for (int64_t i = b; i < e; i++) out[i] = std::fabs(x[i]); break;
    case Unary::Square: for (int64_t i = b; i < e; i++) out[i] = x[i] * x[i]; break;
    case Unary::Relu6: for (int64_t i = b; i < e; i++) out[i] = x[i] < 0 ? 0.f : x[i] > 6.f ? 6.f : x[i]; break;
    case Unary::Elu: for (int64_t i = b; i < e; i++) out[i] = x[i] >= 0 ? x[i] : fast_exp(x[i]) - 1.f; break;
    case Unary::GeluErf:
      if (avx2_fma()) return bias_gelu_row_avx2(x + b, out + b, e - b, nullptr, 0);
      for (int64_t i = b; i < e; i++) out[i] = 0.5f * x[i] * (1.f + fast_erf(x[i] * 0.70710678118654752f));
      break;
    case Unary::GeluTanh:
      for (int64_t i = b; i < e; i++) {
        float z = x[i];
        float u = 0.7978845608028654f * (z + 0.044715f * z * z * z);
        // 1 + tanh(u) = 2 / (1 + exp(-2u))
        out[i] = z / (1.f + fast_exp(-2.f * u));
      }
      break;
    case Unary::Silu: for (int64_t i = b; i < e; i++) out[i] = x[i] / (1.f + fast_exp(-x[i])); break;
  }
}

// max / min that propagate NaN, as JavaScript's Math.max / Math.min do.
inline float nan_max(float acc, float x) { return (x > acc || x != x) ? x : acc; }
inline float nan_min(float acc, float x) { return (x < acc || x != x) ? x : acc; }

template <Binary op>
inline float apply(float a, float b) {
  if constexpr (op == Binary::Add) return a + b;
  if constexpr (op == Binary::Sub) return a - b;
  if constexpr (op == Binary::Mul) return a * b;
  if constexpr (op == Binary::Div) return a / b;
  if constexpr (op == Binary::Max) return nan_max(a, b);
  if constexpr (op == Binary::Min) return nan_min(a, b);
  if constexpr (op == Binary::SquaredDiff) return (a - b) * (a - b);
  if constexpr (op == Binary::Pow) return std::pow(a, b);
  return 0.f;
}

// One innermost row: the three stride patterns that vectorize, and the general one.
template <Binary op>
BIRDVLM_SIMD void binary_row(const float* a, const float* b, float* o, int64_t n, int64_t sa, int64_t sb) {
  if (sa == 1 && sb == 1)
    for (int64_t i = 0; i < n; i++) o[i] = apply<op>(a[i], b[i]);
  else if (sa == 1 && sb == 0) {
    float y = b[0];
    for (int64_t i = 0; i < n; i++) o[i] = apply<op>(a[i], y);
  } else if (sa == 0 && sb == 1) {
    float x = a[0];
    for (int64_t i = 0; i < n; i++) o[i] = apply<op>(x, b[i]);
  } else
    for (int64_t i = 0; i < n; i++) o[i] = apply<op>(a[i * sa], b[i * sb]);
}

template <Binary op>
void binary_impl(const float* a, const float* b, float* out, int rank, const int64_t* shape, const int64_t* as,
                 const int64_t* bs) {
  const int64_t inner = shape[rank - 1];
  int64_t rows = 1;
  for (int d = 0; d < rank - 1; d++) rows *= shape[d];
  const int64_t grainRows = std::max<int64_t>(1, kGrain / std::max<int64_t>(inner, 1));
  parallel_for(rows, grainRows, [&](int64_t r0, int64_t r1) {
    int64_t idx[8] = {0};
    int64_t rem = r0;
    for (int d = rank - 2; d >= 0; d--) {
      idx[d] = rem % shape[d];
      rem /= shape[d];
    }
    for (int64_t r = r0; r < r1; r++) {
      int64_t oa = 0, ob = 0;
      for (int d = 0; d < rank - 1; d++) {
        oa += idx[d] * as[d];
        ob += idx[d] * bs[d];
      }
      binary_row<op>(a + oa, b + ob, out + r * inner, inner, as[rank - 1], bs[rank - 1]);
      for (int d = rank - 2; d >= 0; d--) {
        if (++idx[d] < shape[d]) break;
        idx[d] = 0;
      }
    }
  });
}

BIRDVLM_SIMD void softmax_rows(const float* x, float* out, int64_t r0, int64_t r1, int64_t cols) {
  for (int64_t r = r0; r < r1; r++) {
    const float* xr = x + r * cols;
    float* o = out + r * cols;
    // A NaN anywhere makes exp(x - m) NaN and so the whole row, as in the cpu kernel; the max can ignore it.
    float m = -std::numeric_limits<float>::infinity();
#pragma omp simd reduction(max : m)
    for (int64_t j = 0; j < cols; j++) m = std::max(m, xr[j]);
    float s = 0.f;
#pragma omp simd reduction(+ : s)
    for (int64_t j = 0; j < cols; j++) {
      o[j] = exp_nonpositive(xr[j] - m);
      s += o[j];
    }
    float inv = 1.0f / s;
    for (int64_t j = 0; j < cols; j++) o[j] *= inv;
  }
}

BIRDVLM_SIMD void reduce_range(Reduce op, const float* x, float* out, int64_t p0, int64_t p1, int64_t R, int64_t Q) {
  for (int64_t p = p0; p < p1; p++) {
    const float* xp = x + p * R * Q;
    float* o = out + p * Q;
    if (Q == 1) {
      float acc = op == Reduce::Max ? -std::numeric_limits<float>::infinity()
                  : op == Reduce::Min ? std::numeric_limits<float>::infinity()
                  : op == Reduce::Prod ? 1.f : 0.f;
      switch (op) {
        case Reduce::Sum: case Reduce::Mean: {
          float sum = 0.f;
#pragma omp simd reduction(+ : sum)
          for (int64_t r = 0; r < R; r++) sum += xp[r];
          acc = sum;
          break;
        }
        case Reduce::Max: for (int64_t r = 0; r < R; r++) acc = nan_max(acc, xp[r]); break;
        case Reduce::Min: for (int64_t r = 0; r < R; r++) acc = nan_min(acc, xp[r]); break;
        case Reduce::Prod: for (int64_t r = 0; r < R; r++) acc *= xp[r]; break;
      }
      o[0] = op == Reduce::Mean ? acc / static_cast<float>(R) : acc;
      continue;
    }
    std::memcpy(o, xp, sizeof(float) * Q);
    for (int64_t r = 1; r < R; r++) {
      const float* xr = xp + r * Q;
      switch (op) {
        case Reduce::Sum: case Reduce::Mean: for (int64_t q = 0; q < Q; q++) o[q] += xr[q]; break;
        case Reduce::Max: for (int64_t q = 0; q < Q; q++) o[q] = nan_max(o[q], xr[q]); break;
        case Reduce::Min: for (int64_t q = 0; q < Q; q++) o[q] = nan_min(o[q], xr[q]); break;
        case Reduce::Prod: for (int64_t q = 0; q < Q; q++) o[q] *= xr[q]; break;
      }
    }
    if (op == Reduce::Mean) {
      float inv = 1.0f / static_cast<float>(R);
      for (int64_t q = 0; q < Q; q++) o[q] *= inv;
    }
  }
}

// Reduction of a middle axis when P is small: split Q among threads instead.
void reduce_columns(Reduce op, const float* x, float* out, int64_t P, int64_t R, int64_t Q) {
  parallel_for(Q, 256, [&](int64_t q0, int64_t q1) {
    for (int64_t p = 0; p < P; p++) {
      float* o = out + p * Q + q0;
      const float* xp = x + p * R * Q + q0;
      int64_t n = q1 - q0;
      std::memcpy(o, xp, sizeof(float) * n);
      for (int64_t r = 1; r < R; r++) {
        const float* xr = xp + r * Q;
        switch (op) {
          case Reduce::Sum: case Reduce::Mean: for (int64_t q = 0; q < n; q++) o[q] += xr[q]; break;
          case Reduce::Max: for (int64_t q = 0; q < n; q++) o[q] = nan_max(o[q], xr[q]); break;
          case Reduce::Min: for (int64_t q = 0; q < n; q++) o[q] = nan_min(o[q], xr[q]); break;
          case Reduce::Prod: for (int64_t q = 0; q < n; q++) o[q] *= xr[q]; break;
        }
      }
      if (op == Reduce::Mean)
        for (int64_t q = 0; q < n; q++) o[q] /= static_cast<float>(R);
    }
  });
}

BIRDVLM_SIMD void bias_act_rows(float* c, int64_t r0, int64_t r1, int64_t n, const float* bias, int64_t biasLen, int act,
                                float alpha, int64_t ldc) {
  for (int64_t r = r0; r < r1; r++) {
    float* row = c + r * ldc;
    if (act == static_cast<int>(Unary::GeluErf) && avx2_fma()) {  // bias and GELU in one pass
      bias_gelu_row_avx2(row, row, n, bias, biasLen);
      continue;
    }
    if (bias) {
      if (biasLen == 1)
        for (int64_t j = 0; j < n; j++) row[j] += bias[0];
      else
        for (int64_t j = 0; j < n; j++) row[j] += bias[j];
    }
    if (act == -2)
      for (int64_t j = 0; j < n; j++) row[j] = row[j] >= 0 ? row[j] : alpha * row[j];
    else if (act >= 0)
      unary_range(static_cast<Unary>(act), row, row, 0, n);
  }
}

BIRDVLM_SIMD void norm_range(const float* x, float* out, int64_t r0, int64_t r1, int64_t C, const float* gamma,
                             const float* beta, float eps, bool rms) {
  for (int64_t r = r0; r < r1; r++) {
    const float* xr = x + r * C;
    float* o = out + r * C;
    float mean = 0.f;
    if (!rms) {
#pragma omp simd reduction(+ : mean)
      for (int64_t j = 0; j < C; j++) mean += xr[j];
      mean /= static_cast<float>(C);
    }
    float var = 0.f;
#pragma omp simd reduction(+ : var)
    for (int64_t j = 0; j < C; j++) var += (xr[j] - mean) * (xr[j] - mean);
    float inv = 1.f / std::sqrt(var / static_cast<float>(C) + eps);
    if (beta)
      for (int64_t j = 0; j < C; j++) o[j] = (xr[j] - mean) * inv * gamma[j] + beta[j];
    else
      for (int64_t j = 0; j < C; j++) o[j] = (xr[j] - mean) * inv * gamma[j];
  }
}

// Reference: PyTorch `GeluBackwardKernelImpl` (aten/src/ATen/native/cpu/Activation.cpp) for both GELU forms, and
// `silu_backward` (aten/src/ATen/native/cpu/Activation.cpp): d act(z) / dz at z = x + bias.
inline float gelu_erf_grad(float z) {
  const float cdf = 0.5f * (1.f + fast_erf(z * 0.70710678118654752f));
  const float pdf = 0.39894228040143268f * exp_nonpositive(-0.5f * z * z);  // exp(-z²/2) / sqrt(2 pi)
  return cdf + z * pdf;
}

inline float gelu_tanh_grad(float z) {
  const float k = 0.7978845608028654f, c = 0.044715f;  // sqrt(2 / pi)
  const float z2 = z * z;
  const float t = 1.f - 2.f / (1.f + fast_exp(2.f * k * (z + c * z2 * z)));  // tanh(inner), saturating to ±1
  return 0.5f * (1.f + t) + 0.5f * z * (1.f - t * t) * k * (1.f + 3.f * c * z2);
}

inline float silu_grad(float z) {
  const float s = 1.f / (1.f + fast_exp(-z));
  return s * (1.f + z * (1.f - s));
}

// dx = dy * act'(x + bias) over rows [r0, r1) of [rows, n]; adds each column's dx into `colSum` when not null.
BIRDVLM_SIMD void act_grad_rows(const float* dy, const float* x, const float* bias, float* dx, float* colSum, int64_t r0,
                                int64_t r1, int64_t n, int act) {
  for (int64_t r = r0; r < r1; r++) {
    const float* g = dy + r * n;
    const float* xr = x + r * n;
    float* o = dx + r * n;
    if (act == static_cast<int>(Unary::GeluErf) && avx2_fma()) {
      gelu_grad_row_avx2(g, xr, bias, o, colSum, n);
      continue;
    }
// Separate loops with and without a bias: a conditional load inside keeps the AVX2 loop scalar.
#define BIRDVLM_ACT_GRAD_LOOP(grad)                                            \
  if (bias)                                                                    \
    for (int64_t j = 0; j < n; j++) o[j] = g[j] * grad(xr[j] + bias[j]);       \
  else                                                                         \
    for (int64_t j = 0; j < n; j++) o[j] = g[j] * grad(xr[j]);
    if (act == static_cast<int>(Unary::GeluErf)) {
      BIRDVLM_ACT_GRAD_LOOP(gelu_erf_grad)
    } else if (act == static_cast<int>(Unary::GeluTanh)) {
      BIRDVLM_ACT_GRAD_LOOP(gelu_tanh_grad)
    } else {
      BIRDVLM_ACT_GRAD_LOOP(silu_grad)
    }
#undef BIRDVLM_ACT_GRAD_LOOP
    if (colSum)
      for (int64_t j = 0; j < n; j++) colSum[j] += o[j];
  }
}

}  // namespace

void norm_rows(const float* x, float* out, int64_t rows, int64_t C, const float* gamma, const float* beta, float eps, bool rms) {
  parallel_for(rows, std::max<int64_t>(1, kGrain / std::max<int64_t>(C, 1)),
               [&](int64_t b, int64_t e) { norm_range(x, out, b, e, C, gamma, beta, eps, rms); });
}

void unary(Unary op, const float* x, float* out, int64_t n) {
  parallel_for(n, kGrain, [&](int64_t b, int64_t e) { unary_range(op, x, out, b, e); });
}

void leaky_relu(const float* x, float* out, int64_t n, float alpha) {
  parallel_for(n, kGrain, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; i++) out[i] = x[i] >= 0 ? x[i] : alpha * x[i];
  });
}

void binary(Binary op, const float* a, const float* b, float* out, int rank, const int64_t* shape, const int64_t* as,
            const int64_t* bs) {
  switch (op) {
    case Binary::Add: return binary_impl<Binary::Add>(a, b, out, rank, shape, as, bs);
    case Binary::Sub: return binary_impl<Binary::Sub>(a, b, out, rank, shape, as, bs);
    case Binary::Mul: return binary_impl<Binary::Mul>(a, b, out, rank, shape, as, bs);
    case Binary::Div: return binary_impl<Binary::Div>(a, b, out, rank, shape, as, bs);
    case Binary::Max: return binary_impl<Binary::Max>(a, b, out, rank, shape, as, bs);
    case Binary::Min: return binary_impl<Binary::Min>(a, b, out, rank, shape, as, bs);
    case Binary::SquaredDiff: return binary_impl<Binary::SquaredDiff>(a, b, out, rank, shape, as, bs);
    case Binary::Pow: return binary_impl<Binary::Pow>(a, b, out, rank, shape, as, bs);
  }
}

void softmax(const float* x, float* out, int64_t rows, int64_t cols) {
  parallel_for(rows, std::max<int64_t>(1, kGrain / std::max<int64_t>(cols, 1)),
               [&](int64_t b, int64_t e) { softmax_rows(x, out, b, e, cols); });
}

void reduce(Reduce op, const float* x, float* out, int64_t P, int64_t R, int64_t Q) {
  // Split by columns only when each thread's share of a row is long (4 KB or more): with shorter shares the strided
  // reads run at a third of one thread streaming whole rows ([2080, 576]: 99 us on one thread, 271 us on two).
  if (P < 2 * pool().size() && Q >= 1024 * pool().size()) return reduce_columns(op, x, out, P, R, Q);
  parallel_for(P, std::max<int64_t>(1, kGrain / std::max<int64_t>(R * Q, 1)),
               [&](int64_t b, int64_t e) { reduce_range(op, x, out, b, e, R, Q); });
}

void transpose(const float* x, float* out, int rank, const int64_t* shape, const int32_t* perm) {
  int64_t inStrides[8] = {0}, outShape[8] = {0}, stride[8] = {0};
  int64_t s = 1;
  for (int d = rank - 1; d >= 0; d--) {
    inStrides[d] = s;
    s *= shape[d];
  }
  for (int d = 0; d < rank; d++) {
    outShape[d] = shape[perm[d]];
    stride[d] = inStrides[perm[d]];
  }
  strided_copy(x, out, rank, outShape, stride);
}

void strided_copy(const float* x, float* out, int rank, const int64_t* outShape, const int64_t* stride) {
  const int64_t inner = outShape[rank - 1], innerStride = stride[rank - 1];
  int64_t rows = 1;
  for (int d = 0; d < rank - 1; d++) rows *= outShape[d];
  parallel_for(rows, std::max<int64_t>(1, kGrain / std::max<int64_t>(inner, 1)), [&](int64_t r0, int64_t r1) {
    int64_t idx[8] = {0};
    int64_t rem = r0;
    for (int d = rank - 2; d >= 0; d--) {
      idx[d] = rem % outShape[d];
      rem /= outShape[d];
    }
    for (int64_t r = r0; r < r1; r++) {
      int64_t off = 0;
      for (int d = 0; d < rank - 1; d++) off += idx[d] * stride[d];
      const float* src = x + off;
      float* dst = out + r * inner;
      if (innerStride == 1)
        std::memcpy(dst, src, sizeof(float) * inner);
      else
        for (int64_t j = 0; j < inner; j++) dst[j] = src[j * innerStride];
      for (int d = rank - 2; d >= 0; d--) {
        if (++idx[d] < outShape[d]) break;
        idx[d] = 0;
      }
    }
  });
}

void bias_activation(float* c, int64_t rows, int64_t n, const float* bias, int64_t biasLen, int act, float alpha) {
  parallel_for(rows, std::max<int64_t>(1, kGrain / std::max<int64_t>(n, 1)),
               [&](int64_t b, int64_t e) { bias_act_rows(c, b, e, n, bias, biasLen, act, alpha, n); });
}

void bias_activation_block(float* c, int64_t rows, int64_t n, int64_t ldc, const float* bias, int64_t biasLen, int act,
                           float alpha) {
  if (!bias && act == -1) return;
  bias_act_rows(c, 0, rows, n, bias, biasLen, act, alpha, ldc);
}

}  // namespace birdvlm

namespace birdvlm {

int64_t row_chunks(int64_t rows, int64_t n) {
  const int64_t grainRows = std::max<int64_t>(1, kGrain / std::max<int64_t>(n, 1));
  const int threads = pool().size();
  if (threads == 1 || rows < 2 * grainRows) return 1;
  return std::min<int64_t>(threads * 4, rows / grainRows);
}

void bias_activation_grad(const float* dy, const float* x, const float* bias, float* dx, float* dbias, int64_t rows,
                          int64_t n, int act) {
  // Rows in chunks; each chunk sums its columns into its own row of `partial`, added up in chunk order after.
  const int64_t chunks = row_chunks(rows, n), step = (rows + chunks - 1) / std::max<int64_t>(chunks, 1);
  std::vector<float> partial(dbias ? chunks * n : 0, 0.f);
  auto task = [&](int c) {
    const int64_t r0 = c * step, r1 = std::min(rows, r0 + step);
    if (r0 < r1) act_grad_rows(dy, x, bias, dx, dbias ? partial.data() + c * n : nullptr, r0, r1, n, act);
  };
  if (chunks == 1)
    task(0);
  else
    pool().run(static_cast<int>(chunks), task);
  if (!dbias) return;
  std::copy(partial.begin(), partial.begin() + n, dbias);
  for (int64_t c = 1; c < chunks; c++)
    for (int64_t j = 0; j < n; j++) dbias[j] += partial[c * n + j];
}

}  // namespace birdvlm
