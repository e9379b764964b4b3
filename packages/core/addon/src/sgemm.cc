#include "sgemm.h"

#include <immintrin.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "elementwise.h"
#include "gemv.h"
#include "sgemm_pack.h"
#include "thread_pool.h"

namespace birdvlm {
namespace {

constexpr int KC = 256;  // depth of a packed block (A panel MR x KC and B panel KC x NR stay in L1)
constexpr int MC = 192;  // rows of A packed per block (MC x KC in L2)
constexpr int NC = 2048; // columns of B packed per block (KC x NC in L2/L3)

using MicroKernel = void (*)(int kc, const float* a, const float* b, float* c, int ldc, bool accumulate);

// ---- micro-kernels: C[MR,NR] (=|+=) sum_k a[k*MR + i] * b[k*NR + j] ----

// Asks for the output tile's cache lines (for writing) before the depth loop, so that its stores and, when
// accumulating, its loads find them in cache: the tile is most often in memory (a large C is swept once per depth
// block), and a miss at the end of the kernel stalls it where the loop's work cannot hide it.
template <int MR, int NR>
inline void prefetch_tile(const float* c, int ldc) {
#pragma GCC unroll 16
  for (int i = 0; i < MR; i++) {
    const float* row = c + static_cast<int64_t>(i) * ldc;
    for (int j = 0; j < NR; j += 16) __builtin_prefetch(row + j, 1, 3);
    __builtin_prefetch(row + NR - 1, 1, 3);
  }
}

template <int MR>
__attribute__((target("avx512f,fma"))) void kernel_avx512(int kc, const float* a, const float* b, float* c, int ldc,
                                                          bool accumulate) {
  __m512 acc0[MR], acc1[MR];
  prefetch_tile<MR, 32>(c, ldc);
#pragma GCC unroll 16
  for (int i = 0; i < MR; i++) acc0[i] = acc1[i] = _mm512_setzero_ps();
  for (int k = 0; k < kc; k++) {
    __m512 b0 = _mm512_load_ps(b), b1 = _mm512_load_ps(b + 16);
#pragma GCC unroll 16
    for (int i = 0; i < MR; i++) {
      __m512 ai = _mm512_set1_ps(a[i]);
      acc0[i] = _mm512_fmadd_ps(ai, b0, acc0[i]);
      acc1[i] = _mm512_fmadd_ps(ai, b1, acc1[i]);
    }
    a += MR;
    b += 32;
  }
#pragma GCC unroll 16
  for (int i = 0; i < MR; i++) {
    float* ci = c + static_cast<int64_t>(i) * ldc;
    if (accumulate) {
      acc0[i] = _mm512_add_ps(acc0[i], _mm512_loadu_ps(ci));
      acc1[i] = _mm512_add_ps(acc1[i], _mm512_loadu_ps(ci + 16));
    }
    _mm512_storeu_ps(ci, acc0[i]);
    _mm512_storeu_ps(ci + 16, acc1[i]);
  }
}

template <int MR>
__attribute__((target("avx2,fma"))) void kernel_avx2(int kc, const float* a, const float* b, float* c, int ldc,
                                                    bool accumulate) {
  __m256 acc0[MR], acc1[MR];
  prefetch_tile<MR, 16>(c, ldc);
#pragma GCC unroll 8
  for (int i = 0; i < MR; i++) acc0[i] = acc1[i] = _mm256_setzero_ps();
  for (int k = 0; k < kc; k++) {
    __m256 b0 = _mm256_load_ps(b), b1 = _mm256_load_ps(b + 8);
#pragma GCC unroll 8
    for (int i = 0; i < MR; i++) {
      __m256 ai = _mm256_broadcast_ss(a + i);
      acc0[i] = _mm256_fmadd_ps(ai, b0, acc0[i]);
      acc1[i] = _mm256_fmadd_ps(ai, b1, acc1[i]);
    }
    a += MR;
    b += 16;
  }
#pragma GCC unroll 8
  for (int i = 0; i < MR; i++) {
    float* ci = c + static_cast<int64_t>(i) * ldc;
    if (accumulate) {
      acc0[i] = _mm256_add_ps(acc0[i], _mm256_loadu_ps(ci));
      acc1[i] = _mm256_add_ps(acc1[i], _mm256_loadu_ps(ci + 8));
    }
    _mm256_storeu_ps(ci, acc0[i]);
    _mm256_storeu_ps(ci + 8, acc1[i]);
  }
}

template <int MR, int NR>
void kernel_generic(int kc, const float* a, const float* b, float* c, int ldc, bool accumulate) {
  float acc[MR][NR] = {};
  for (int k = 0; k < kc; k++) {
    for (int i = 0; i < MR; i++)
      for (int j = 0; j < NR; j++) acc[i][j] += a[i] * b[j];
    a += MR;
    b += NR;
  }
  for (int i = 0; i < MR; i++)
    for (int j = 0; j < NR; j++) c[i * ldc + j] = accumulate ? c[i * ldc + j] + acc[i][j] : acc[i][j];
}

struct Isa {
  const char* name;
  int MR, NR;
  MicroKernel kernel;
};

Isa detect() {
  __builtin_cpu_init();
  if (!std::getenv("BIRDVLM_NO_AVX512") && __builtin_cpu_supports("avx512f")) return {"avx512", 12, 32, kernel_avx512<12>};
  if (!std::getenv("BIRDVLM_NO_AVX2") && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return {"avx2", 6, 16, kernel_avx2<6>};
  return {"generic", 4, 8, kernel_generic<4, 8>};
}

const Isa& isa() {
  static const Isa chosen = detect();
  return chosen;
}

struct Buffers {
  float* a = nullptr;
  float* b = nullptr;
  Buffers() {
    a = static_cast<float*>(std::aligned_alloc(64, sizeof(float) * (MC * 3 / 2 + 16) * KC));
    b = static_cast<float*>(std::aligned_alloc(64, sizeof(float) * (NC + 32) * KC));
  }
  ~Buffers() {
    std::free(a);
    std::free(b);
  }
};

thread_local Buffers tls;

// Whether the AVX2 6 x 16 micro-kernel is in use, so that panels can be packed with AVX2 (sgemm_pack.cc).
bool avx2_panels() { return isa().kernel == static_cast<MicroKernel>(kernel_avx2<6>); }

// Packs op(A)[i0:i0+mc, k0:k0+kc] as MR-row panels, k-major inside a panel, zero-padded.
void pack_a(const GemmProblem& p, int i0, int mc, int k0, int kc, int MR, float* dst) {
  const bool avx2Panels = MR == 6 && avx2_panels();
  for (int ip = 0; ip < mc; ip += MR) {
    int rows = std::min(MR, mc - ip);
    if (avx2Panels && rows == MR && !p.transA) {
      pack6_rows_avx2(p.A + static_cast<int64_t>(i0 + ip) * p.lda + k0, p.lda, kc, dst);
    } else if (avx2Panels && rows == MR) {
      pack6_cols_avx2(p.A + static_cast<int64_t>(k0) * p.lda + i0 + ip, p.lda, kc, dst);
    } else if (!p.transA) {
      for (int r = 0; r < rows; r++) {
        const float* src = p.A + static_cast<int64_t>(i0 + ip + r) * p.lda + k0;
        for (int k = 0; k < kc; k++) dst[k * MR + r] = src[k];
      }
    } else {
      for (int k = 0; k < kc; k++) {
        const float* src = p.A + static_cast<int64_t>(k0 + k) * p.lda + i0 + ip;
        for (int r = 0; r < rows; r++) dst[k * MR + r] = src[r];
      }
    }
    if (rows < MR)
      for (int k = 0; k < kc; k++)
        for (int r = rows; r < MR; r++) dst[k * MR + r] = 0.f;
    dst += MR * kc;
  }
}

// Packs op(B)[k0:k0+kc, j0:j0+nc] as NR-column panels, k-major inside a panel, zero-padded.
void pack_b(const GemmProblem& p, int k0, int kc, int j0, int nc, int NR, float* dst) {
  const bool avx2Panels = NR == 16 && avx2_panels();
  for (int jp = 0; jp < nc; jp += NR) {
    int cols = std::min(NR, nc - jp);
    if (avx2Panels && cols == NR && p.transB) {
      pack16_cols_avx2(p.B + static_cast<int64_t>(j0 + jp) * p.ldb + k0, p.ldb, kc, dst);
    } else if (avx2Panels && cols == NR) {
      pack16_rows_avx2(p.B + static_cast<int64_t>(k0) * p.ldb + j0 + jp, p.ldb, kc, dst);
    } else if (!p.transB) {
      for (int k = 0; k < kc; k++) {
        const float* src = p.B + static_cast<int64_t>(k0 + k) * p.ldb + j0 + jp;
        float* d = dst + k * NR;
        std::memcpy(d, src, sizeof(float) * cols);
        for (int c = cols; c < NR; c++) d[c] = 0.f;
      }
    } else {
      for (int c = 0; c < cols; c++) {
        const float* src = p.B + static_cast<int64_t>(j0 + jp + c) * p.ldb + k0;
        for (int k = 0; k < kc; k++) dst[k * NR + c] = src[k];
      }
      if (cols < NR)
        for (int k = 0; k < kc; k++)
          for (int c = cols; c < NR; c++) dst[k * NR + c] = 0.f;
    }
    dst += NR * kc;
  }
}

// C[i0:i0+mc, j0:j0+nc] (=|+=) packed A (mc rows) · packed B (nc columns, panel after panel), micro-tile by
// micro-tile; partial tiles go through a scratch tile.
void macro_block(const GemmProblem& p, int i0, int mc, int j0, int nc, int kc, bool acc, const float* pa, const float* pb) {
  const Isa& k = isa();
  const int MR = k.MR, NR = k.NR;
  alignas(64) float edge[16 * 32];
  for (int jr = 0; jr < nc; jr += NR) {
    int nr = std::min(NR, nc - jr);
    const float* bp = pb + static_cast<int64_t>(jr / NR) * NR * kc;
    for (int ir = 0; ir < mc; ir += MR) {
      int mr = std::min(MR, mc - ir);
      const float* ap = pa + static_cast<int64_t>(ir / MR) * MR * kc;
      float* c = p.C + static_cast<int64_t>(i0 + ir) * p.ldc + j0 + jr;
      if (mr == MR && nr == NR) {
        k.kernel(kc, ap, bp, c, p.ldc, acc);
      } else {
        k.kernel(kc, ap, bp, edge, NR, false);
        for (int i = 0; i < mr; i++)
          for (int j = 0; j < nr; j++)
            c[static_cast<int64_t>(i) * p.ldc + j] = (acc ? c[static_cast<int64_t>(i) * p.ldc + j] : 0.f) + edge[i * NR + j];
      }
    }
  }
}

}  // namespace

const char* sgemm_isa() { return isa().name; }

bool avx2_fma() {
  static const bool yes = std::strcmp(isa().name, "generic") != 0;
  return yes;
}

void Epilogue::apply(float* C, int64_t r0, int64_t rows, int64_t c0, int64_t n, int64_t ldc) const {
  if (rows <= 0 || n <= 0) return;
  float* c = C + r0 * ldc + c0;
  if (keep)
    for (int64_t r = 0; r < rows; r++) std::memcpy(keep + (r0 + r) * ldc + c0, c + r * ldc, sizeof(float) * n);
  bias_activation_block(c, rows, n, ldc, bias && biasLen > 1 ? bias + c0 : bias, biasLen, act, alpha);
}

void sgemm_serial(const GemmProblem& p) {
  if (p.M <= 0 || p.N <= 0) return;
  if (p.K == 0) {
    if (!p.accumulate)
      for (int i = 0; i < p.M; i++) std::fill(p.C + static_cast<int64_t>(i) * p.ldc, p.C + static_cast<int64_t>(i) * p.ldc + p.N, 0.f);
    return;
  }
  if (p.M == 1) {
    // a is contiguous either way (lda is 1 when transposed with one row).
    if (!p.transB && !p.accumulate && (!p.transA || p.lda == 1))
      gemv_rows(p.A, p.B, p.ldb, 0, p.K, p.N, p.C);
    else
      gemv_row(p, 0, p.N);
    return;
  }
  const Isa& k = isa();
  const int MR = k.MR, NR = k.NR;
  float* pa = tls.a;
  float* pb = tls.b;
  for (int j0 = 0; j0 < p.N; j0 += NC) {
    int nc = std::min(NC, p.N - j0);
    for (int k0 = 0; k0 < p.K; k0 += KC) {
      int kc = std::min(KC, p.K - k0);
      bool acc = p.accumulate || k0 > 0;
      pack_b(p, k0, kc, j0, nc, NR, pb);
      // A last block of up to 1.5 MC rows stays whole (197 rows: one block, not 192 + 5).
      for (int i0 = 0, mc; i0 < p.M; i0 += mc) {
        mc = p.M - i0 <= MC * 3 / 2 ? p.M - i0 : MC;
        pack_a(p, i0, mc, k0, kc, MR, pa);
        macro_block(p, i0, mc, j0, nc, kc, acc, pa, pb);
      }
    }
  }
}

static void sgemm_shared_b(int M, int N, int K, const float* A, bool transA, const float* B, bool transB, float* C,
                    const Epilogue& e) {
  const Isa& k = isa();
  const int MR = k.MR, NR = k.NR;
  const int threads = pool().size();
  GemmProblem p{M, N, K, A, transA ? M : K, transA, B, transB ? K : N, transB, C, N, false};
  const int panels = (N + NR - 1) / NR;
  const int kblocks = (K + KC - 1) / KC;
  const int64_t blockFloats = static_cast<int64_t>(panels) * NR * KC;
  static float* packed = nullptr;  // one caller at a time (the JavaScript thread)
  static int64_t capacity = 0;
  if (capacity < kblocks * blockFloats) {
    std::free(packed);
    capacity = kblocks * blockFloats;
    packed = static_cast<float*>(std::aligned_alloc(64, sizeof(float) * capacity));
  }
  // Phase 1: op(B) packed once, its panels shared out among the threads.
  const int groups = std::max(1, std::min(panels, 2 * threads));
  const int perGroup = (panels + groups - 1) / groups;
  pool().run(kblocks * groups, [&](int t) {
    const int kb = t / groups, g = t % groups;
    const int jp0 = g * perGroup, jp1 = std::min(panels, jp0 + perGroup);
    if (jp0 >= jp1) return;
    const int k0 = kb * KC, kc = std::min(KC, K - k0);
    const int j0 = jp0 * NR, nc = std::min(N, jp1 * NR) - j0;
    pack_b(p, k0, kc, j0, nc, NR, packed + kb * blockFloats + static_cast<int64_t>(jp0) * kc * NR);
  });
  // Phase 2: blocks of rows, each packing its own rows of A against the shared B.
  // Whole micro-panels of rows spread evenly (197 rows in 4: 48, 48, 48, 53; not 60, 60, 60, 17).
  const int panelsM = (M + MR - 1) / MR;
  const int chunks = std::max(1, std::min(2 * threads, panelsM));
  pool().run(chunks, [&](int t) {
    const int r0 = std::min(M, t * panelsM / chunks * MR), r1 = std::min(M, (t + 1) * panelsM / chunks * MR);
    for (int i0 = r0, mc; i0 < r1; i0 += mc) {
      mc = r1 - i0 <= MC * 3 / 2 ? r1 - i0 : MC;
      for (int kb = 0; kb < kblocks; kb++) {
        const int k0 = kb * KC, kc = std::min(KC, K - k0);
        pack_a(p, i0, mc, k0, kc, MR, tls.a);
        macro_block(p, i0, mc, 0, N, kc, kb > 0, tls.a, packed + kb * blockFloats);
      }
      e.apply(C, i0, mc, 0, N, N);  // while the block's rows are still in cache
    }
  });
}

int64_t packed_b_floats(int K, int N) {
  const int NR = isa().NR;
  return static_cast<int64_t>((K + KC - 1) / KC) * ((N + NR - 1) / NR) * NR * KC;
}

void pack_b_whole(const float* B, int ldb, bool transB, int K, int N, float* dst) {
  const int NR = isa().NR;
  const int64_t blockFloats = static_cast<int64_t>((N + NR - 1) / NR) * NR * KC;
  GemmProblem p{1, N, K, nullptr, 0, false, B, ldb, transB, nullptr, N, false};
  for (int k0 = 0, kb = 0; k0 < K; k0 += KC, kb++) pack_b(p, k0, std::min(KC, K - k0), 0, N, NR, dst + kb * blockFloats);
}

void sgemm_prepacked(int M, int N, int K, const float* A, int lda, bool transA, const float* packedB, float* C, int ldc) {
  if (M <= 0 || N <= 0) return;
  if (K == 0) {
    for (int i = 0; i < M; i++) std::fill(C + static_cast<int64_t>(i) * ldc, C + static_cast<int64_t>(i) * ldc + N, 0.f);
    return;
  }
  const Isa& k = isa();
  const int64_t blockFloats = static_cast<int64_t>((N + k.NR - 1) / k.NR) * k.NR * KC;
  GemmProblem p{M, N, K, A, lda, transA, nullptr, 0, false, C, ldc, false};
  for (int i0 = 0, mc; i0 < M; i0 += mc) {
    mc = M - i0 <= MC * 3 / 2 ? M - i0 : MC;
    for (int k0 = 0, kb = 0; k0 < K; k0 += KC, kb++) {
      const int kc = std::min(KC, K - k0);
      pack_a(p, i0, mc, k0, kc, k.MR, tls.a);
      macro_block(p, i0, mc, 0, N, kc, kb > 0, tls.a, packedB + kb * blockFloats);
    }
  }
}

// A long, thin product (a weight's gradient: Xᵀ[in, tokens] · dY[tokens, out], its depth the token count): the
// depth is cut into `slabs` even slabs (a count fixed by the shape, so the sum is the same for any thread count),
// each slab's product computed into its own buffer (the first into C), then summed in slab order. Each operand is
// packed once in all, where cutting rows or columns would pack one of them whole for every piece.
static void sgemm_split_depth(int M, int N, int K, const float* A, bool transA, const float* B, bool transB, float* C,
                              const Epilogue& e, int slabs) {
  const int64_t size = static_cast<int64_t>(M) * N;
  static std::vector<float> partials;  // one caller at a time (the JavaScript thread)
  if (partials.size() < static_cast<size_t>(size * (slabs - 1))) partials.resize(size * (slabs - 1));
  const int lda = transA ? M : K, ldb = transB ? K : N;
  pool().run(slabs, [&](int s) {
    const int k0 = static_cast<int>(static_cast<int64_t>(K) * s / slabs) & ~7;
    const int k1 = s + 1 == slabs ? K : static_cast<int>(static_cast<int64_t>(K) * (s + 1) / slabs) & ~7;
    float* out = s == 0 ? C : partials.data() + (s - 1) * size;
    GemmProblem p{M, N, k1 - k0, transA ? A + static_cast<int64_t>(k0) * lda : A + k0, lda, transA,
                  transB ? B + k0 : B + static_cast<int64_t>(k0) * ldb, ldb, transB, out, N, false};
    sgemm_serial(p);
  });
  parallel_for(M, std::max<int64_t>(1, 4096 / N), [&](int64_t r0, int64_t r1) {
    float* c = C + r0 * N;
    const int64_t n = (r1 - r0) * N;
    for (int s = 1; s < slabs; s++) {
      const float* q = partials.data() + (s - 1) * size + r0 * N;
      for (int64_t i = 0; i < n; i++) c[i] += q[i];
    }
    e.apply(C, r0, r1 - r0, 0, N, N);
  });
}

void sgemm_batched(int batch, const int32_t* aIndex, const int32_t* bIndex, int M, int N, int K, const float* A,
                   bool transA, const float* B, bool transB, float* C, const Epilogue& e) {
  const int64_t strideA = static_cast<int64_t>(M) * K, strideB = static_cast<int64_t>(K) * N, strideC = static_cast<int64_t>(M) * N;
  const int lda = transA ? M : K, ldb = transB ? K : N;
  const int threads = pool().size();
  if (batch == 1 && M == 1 && !transB && threads > 1 && K >= 256 && static_cast<int64_t>(N) * K >= (1 << 16)) {
    gemv_split(A + aIndex[0] * strideA, B + bIndex[0] * strideB, C, N, K, e);
    return;
  }
  const Isa& k = isa();
  // One product of many rows against a weight that fits the caches: pack the weight once for all threads (on one
  // thread the plain product below sums the same way).
  const bool sharedB = batch == 1 && M >= 4 * k.MR && static_cast<int64_t>(K) * N <= (1 << 20) && 2.0 * M * N * K > 2e6;
  if (sharedB && threads > 1) {
    sgemm_shared_b(M, N, K, A + aIndex[0] * strideA, transA, B + bIndex[0] * strideB, transB, C, e);
    return;
  }
  // Otherwise a depth of at least 1024 and twice both sides (a weight's gradient): cut the depth, 2 to 8 slabs of
  // 1024 or more (also on one thread, so that the sum does not depend on the thread count).
  if (!sharedB && batch == 1 && K >= 1024 && K >= 2 * std::max(M, N) && 2.0 * M * N * K > 2e6) {
    sgemm_split_depth(M, N, K, A + aIndex[0] * strideA, transA, B + bIndex[0] * strideB, transB, C, e,
                      std::max(2, std::min(8, K / 1024)));
    return;
  }
  // Split each product into `parts` pieces along rows (or columns when rows are few) so every thread has work;
  // two pieces per thread, so that on a busy machine a descheduled thread holds up only a small share.
  const double flops = 2.0 * M * N * K;
  const bool byRows = M > 1 && M >= N;
  const int unit = byRows ? k.MR : k.NR;
  const int span = byRows ? M : N;
  int parts = 1;
  if (batch < threads * 2 && flops > 2e5 && threads > 1) {
    parts = std::max(1, std::min(threads * 2, span / (4 * unit)));
    if (parts < threads) parts = std::max(1, std::min(threads, span / unit));
  }
  const int units = (span + unit - 1) / unit;
  if (parts > units) parts = units;
  if (parts < 1) parts = 1;
  pool().run(batch * parts, [&](int t) {
    int bi = t / parts, part = t % parts;
    GemmProblem p{M, N, K, A + aIndex[bi] * strideA, lda, transA, B + bIndex[bi] * strideB, ldb, transB, C + bi * strideC, N, false};
    int r0 = 0, c0 = 0;
    if (parts > 1) {
      // Whole units (micro-panels) spread evenly among the parts.
      int s0 = std::min(span, part * units / parts * unit), s1 = std::min(span, (part + 1) * units / parts * unit);
      if (s0 >= s1) return;
      if (byRows) {
        p.M = s1 - s0;
        p.A += transA ? s0 : static_cast<int64_t>(s0) * lda;
        p.C += static_cast<int64_t>(s0) * N;
        r0 = s0;
      } else {
        p.N = s1 - s0;
        p.B += transB ? static_cast<int64_t>(s0) * ldb : s0;
        p.C += s0;
        c0 = s0;
      }
    }
    sgemm_serial(p);
    Epilogue own = e;
    if (e.keep) own.keep = e.keep + bi * strideC;
    own.apply(C + bi * strideC, r0, p.M, c0, p.N, N);
  });
}

}  // namespace birdvlm
