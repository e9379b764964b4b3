// N-API entry points of the BirdVLM native backend. Every function reads its input typed arrays and writes
// its output typed array in place; shapes come as numbers or arrays of numbers. Sizes are checked here.
#include <napi.h>

#include <atomic>
#include <string>
#include <vector>

#include "attention.h"
#include "bf16.h"
#include "elementwise.h"
#include "napi_attention.h"
#include "napi_util.h"
#include "sgemm.h"
#include "thread_pool.h"

namespace {

using birdvlm::pool;
using namespace birdvlm::napi;

Napi::Value Info(const Napi::CallbackInfo& info) {
  auto o = Napi::Object::New(info.Env());
  o.Set("isa", birdvlm::sgemm_isa());
  o.Set("threads", pool().size());
  o.Set("async", birdvlm::async_launches());
  return o;
}

Napi::Value SetThreads(const Napi::CallbackInfo& info) {
  if (!Synchronize(info.Env())) return info.Env().Undefined();
  birdvlm::set_threads(static_cast<int>(Int(info, 0)));
  return Napi::Number::New(info.Env(), pool().size());
}

// matmul(a, b, c, batch, M, N, K, transA, transB, aIndex: Int32Array, bIndex: Int32Array, batchA, batchB,
//        bias?: Float32Array | null, act?: number, alpha?: number)
Napi::Value MatMul(const Napi::CallbackInfo& info) {
  auto env = info.Env();
  int64_t batch = Int(info, 3), M = Int(info, 4), N = Int(info, 5), K = Int(info, 6);
  bool ta = info[7].ToBoolean(), tb = info[8].ToBoolean();
  auto ai = info[9].As<Napi::Int32Array>(), bi = info[10].As<Napi::Int32Array>();
  int64_t batchA = Int(info, 11), batchB = Int(info, 12);
  if (static_cast<int64_t>(ai.ElementLength()) < batch || static_cast<int64_t>(bi.ElementLength()) < batch) {
    Fail(env, "matmul batch index arrays too short");
    return env.Undefined();
  }
  for (int64_t i = 0; i < batch; i++)
    if (ai.Data()[i] < 0 || ai.Data()[i] >= batchA || bi.Data()[i] < 0 || bi.Data()[i] >= batchB) {
      Fail(env, "matmul batch index out of range");
      return env.Undefined();
    }
  float *a, *b, *c;
  if (!F32(info, 0, batchA * M * K, &a) || !F32(info, 1, batchB * K * N, &b) || !F32(info, 2, batch * M * N, &c))
    return env.Undefined();
  // Optional epilogue: bias (length N or 1, or null), activation code, alpha.
  birdvlm::Epilogue e;
  if (info.Length() > 13 && !info[13].IsNull() && !info[13].IsUndefined()) {
    e.biasLen = info[13].As<Napi::Float32Array>().ElementLength();
    if (e.biasLen != 1 && e.biasLen != N) {
      Fail(env, "matmul bias must have 1 or N elements");
      return env.Undefined();
    }
    float* bias;
    if (!F32(info, 13, e.biasLen, &bias)) return env.Undefined();
    e.bias = bias;
  }
  if (info.Length() > 14) e.act = static_cast<int>(Int(info, 14));
  if (info.Length() > 15) e.alpha = info[15].As<Napi::Number>().FloatValue();
  // Optional: where the product goes before the bias and activation (a gradient's saved input).
  if (info.Length() > 16 && !OptionalF32(info, 16, batch * M * N, &e.keep)) return env.Undefined();
  const int32_t *ia = ai.Data(), *ib = bi.Data();
  return Launch(env, [=] {
    birdvlm::sgemm_batched(static_cast<int>(batch), ia, ib, static_cast<int>(M), static_cast<int>(N),
                           static_cast<int>(K), a, ta, b, tb, c, e);
  });
}

// biasActivation(c, rows, n, bias | null, act, alpha)
Napi::Value BiasActivation(const Napi::CallbackInfo& info) {
  auto env = info.Env();
  int64_t rows = Int(info, 1), n = Int(info, 2);
  float *c, *bias = nullptr;
  int64_t biasLen = 0;
  if (!F32(info, 0, rows * n, &c)) return env.Undefined();
  if (!info[3].IsNull() && !info[3].IsUndefined()) {
    biasLen = info[3].As<Napi::Float32Array>().ElementLength();
    if (biasLen != 1 && biasLen != n) {
      Fail(env, "bias must have 1 or n elements");
      return env.Undefined();
    }
    if (!F32(info, 3, biasLen, &bias)) return env.Undefined();
  }
  const int act = static_cast<int>(Int(info, 4));
  const float alpha = info[5].As<Napi::Number>().FloatValue();
  return Launch(env, [=] { birdvlm::bias_activation(c, rows, n, bias, biasLen, act, alpha); });
}

// unary(op, x, out)
Napi::Value Unary(const Napi::CallbackInfo& info) {
  float *x, *o;
  int64_t n = info[1].As<Napi::Float32Array>().ElementLength();
  if (!F32(info, 1, n, &x) || !F32(info, 2, n, &o)) return info.Env().Undefined();
  const auto op = static_cast<birdvlm::Unary>(Int(info, 0));
  return Launch(info.Env(), [=] { birdvlm::unary(op, x, o, n); });
}

// leakyRelu(x, out, alpha)
Napi::Value LeakyRelu(const Napi::CallbackInfo& info) {
  float *x, *o;
  int64_t n = info[0].As<Napi::Float32Array>().ElementLength();
  if (!F32(info, 0, n, &x) || !F32(info, 1, n, &o)) return info.Env().Undefined();
  const float alpha = info[2].As<Napi::Number>().FloatValue();
  return Launch(info.Env(), [=] { birdvlm::leaky_relu(x, o, n, alpha); });
}

// binary(op, a, b, out, shape[], aStrides[], bStrides[])
Napi::Value Binary(const Napi::CallbackInfo& info) {
  auto env = info.Env();
  auto shape = Ints(info, 4), as = Ints(info, 5), bs = Ints(info, 6);
  int rank = static_cast<int>(shape.size());
  if (rank < 1 || rank > 8 || as.size() != shape.size() || bs.size() != shape.size()) {
    Fail(env, "binary: rank must be 1..8 with one stride per dim");
    return env.Undefined();
  }
  int64_t n = 1, ea = 1, eb = 1;
  for (int d = 0; d < rank; d++) {
    n *= shape[d];
    ea += (shape[d] - 1) * as[d];
    eb += (shape[d] - 1) * bs[d];
  }
  float *a, *b, *o;
  if (!F32(info, 1, ea, &a) || !F32(info, 2, eb, &b) || !F32(info, 3, n, &o)) return env.Undefined();
  if (n == 0) return NoKernel(env);
  const auto op = static_cast<birdvlm::Binary>(Int(info, 0));
  return Launch(env, [=, shape = std::move(shape), as = std::move(as), bs = std::move(bs)] {
    birdvlm::binary(op, a, b, o, rank, shape.data(), as.data(), bs.data());
  });
}

// softmax(x, out, rows, cols)
Napi::Value Softmax(const Napi::CallbackInfo& info) {
  int64_t rows = Int(info, 2), cols = Int(info, 3);
  float *x, *o;
  if (!F32(info, 0, rows * cols, &x) || !F32(info, 1, rows * cols, &o)) return info.Env().Undefined();
  return Launch(info.Env(), [=] { birdvlm::softmax(x, o, rows, cols); });
}

// reduce(op, x, out, P, R, Q)
Napi::Value Reduce(const Napi::CallbackInfo& info) {
  int64_t P = Int(info, 3), R = Int(info, 4), Q = Int(info, 5);
  float *x, *o;
  if (R < 1) {
    Fail(info.Env(), "reduce: empty axis");
    return info.Env().Undefined();
  }
  if (!F32(info, 1, P * R * Q, &x) || !F32(info, 2, P * Q, &o)) return info.Env().Undefined();
  const auto op = static_cast<birdvlm::Reduce>(Int(info, 0));
  return Launch(info.Env(), [=] { birdvlm::reduce(op, x, o, P, R, Q); });
}

// transpose(x, out, shape[], perm[])
Napi::Value Transpose(const Napi::CallbackInfo& info) {
  auto env = info.Env();
  auto shape = Ints(info, 2), permWide = Ints(info, 3);
  int rank = static_cast<int>(shape.size());
  if (rank < 1 || rank > 8 || permWide.size() != shape.size()) {
    Fail(env, "transpose: rank must be 1..8 with a full permutation");
    return env.Undefined();
  }
  std::vector<int32_t> perm(permWide.begin(), permWide.end());
  std::vector<bool> seen(rank, false);
  for (int32_t p : perm) {
    if (p < 0 || p >= rank || seen[p]) {
      Fail(env, "transpose: invalid permutation");
      return env.Undefined();
    }
    seen[p] = true;
  }
  int64_t n = 1;
  for (int64_t s : shape) n *= s;
  float *x, *o;
  if (!F32(info, 0, n, &x) || !F32(info, 1, n, &o)) return env.Undefined();
  if (n == 0) return NoKernel(env);
  return Launch(env, [=, shape = std::move(shape), perm = std::move(perm)] {
    birdvlm::transpose(x, o, rank, shape.data(), perm.data());
  });
}

// stridedCopy(x, out, offset, shape[], strides[]): out (dense, `shape`) = x[offset + sum i_d * strides[d]]
Napi::Value StridedCopy(const Napi::CallbackInfo& info) {
  auto env = info.Env();
  int64_t offset = Int(info, 2);
  auto shape = Ints(info, 3), strides = Ints(info, 4);
  int rank = static_cast<int>(shape.size());
  if (rank < 1 || rank > 8 || strides.size() != shape.size() || offset < 0) {
    Fail(env, "stridedCopy: rank must be 1..8 with one stride per dim");
    return env.Undefined();
  }
  int64_t n = 1, extent = offset + 1;
  for (int d = 0; d < rank; d++) {
    n *= shape[d];
    if (strides[d] < 0) {
      Fail(env, "stridedCopy: negative stride");
      return env.Undefined();
    }
    extent += (shape[d] - 1) * strides[d];
  }
  float *x, *o;
  if (!F32(info, 1, n, &o)) return env.Undefined();
  if (n == 0) return NoKernel(env);
  if (!F32(info, 0, extent, &x)) return env.Undefined();
  return Launch(env, [=, shape = std::move(shape), strides = std::move(strides)] {
    birdvlm::strided_copy(x + offset, o, rank, shape.data(), strides.data());
  });
}

// normRows(x, out, rows, C, gamma, beta | null, eps, rms)
Napi::Value NormRows(const Napi::CallbackInfo& info) {
  auto env = info.Env();
  int64_t rows = Int(info, 2), C = Int(info, 3);
  float *x, *o, *g, *b = nullptr;
  if (!F32(info, 0, rows * C, &x) || !F32(info, 1, rows * C, &o) || !F32(info, 4, C, &g)) return env.Undefined();
  if (!info[5].IsNull() && !info[5].IsUndefined() && !F32(info, 5, C, &b)) return env.Undefined();
  const float eps = info[6].As<Napi::Number>().FloatValue();
  const bool rms = info[7].ToBoolean();
  if (rows * C == 0) return NoKernel(env);
  return Launch(env, [=] { birdvlm::norm_rows(x, o, rows, C, g, b, eps, rms); });
}

// attention(q, k, v, mask | null, out, [B, H, Hkv, Tq, Tk, capK, D], scale, causal, window, offset, maskStrides[4],
//           packedQkv?, probs?): probs [B, H, Tq, Tk], when given, receives the probabilities (a training forward)
Napi::Value Attention(const Napi::CallbackInfo& info) {
  auto env = info.Env();
  birdvlm::AttentionArgs a{};
  if (!ReadAttentionShape(info, 5, "attention", &a)) return env.Undefined();
  const int64_t nq = QueryElements(a), nk = KeyElements(a);
  float *q, *k, *v, *out;
  if (a.packedQkv ? !F32(info, 0, 3 * nk, &q) || !F32(info, 4, nq, &out)
                  : !F32(info, 0, nq, &q) || !F32(info, 1, nk, &k) || !F32(info, 2, nk, &v) || !F32(info, 4, nq, &out))
    return env.Undefined();
  // packed: q holds [B, T, 3, H, D], so k and v start H·D and 2·H·D into each row
  if (a.packedQkv) k = q + static_cast<int64_t>(a.H) * a.D, v = k + static_cast<int64_t>(a.H) * a.D;
  a.q = q;
  a.k = k;
  a.v = v;
  a.out = out;
  return Launch(env, [=] { birdvlm::attention(a); });
}

// swiglu(x, out, rows, I): out [rows, I] = x[:, I:] * silu(x[:, :I])
Napi::Value SwiGLU(const Napi::CallbackInfo& info) {
  int64_t rows = Int(info, 2), I = Int(info, 3);
  float *x, *o;
  if (!F32(info, 0, rows * 2 * I, &x) || !F32(info, 1, rows * I, &o)) return info.Env().Undefined();
  if (rows * I == 0) return NoKernel(info.Env());
  return Launch(info.Env(), [=] { birdvlm::swiglu(x, o, rows, I); });
}

// bf16MatMul(x: Float32Array, w: Int32Array, out: Float32Array, M, N, K): out[M,N] = x[M,K] · W[K,N], W's bf16
// values row-major in the 16-bit halves of w (little-endian: element 2i in the low half of w[i]).
Napi::Value Bf16MatMul(const Napi::CallbackInfo& info) {
  auto env = info.Env();
  int64_t M = Int(info, 3), N = Int(info, 4), K = Int(info, 5);
  if (M < 0 || N < 0 || K < 0) {
    Fail(env, "bf16MatMul: negative size");
    return env.Undefined();
  }
  if (!info[1].IsTypedArray() || info[1].As<Napi::TypedArray>().TypedArrayType() != napi_int32_array) {
    Fail(env, "bf16MatMul: argument 1 must be an Int32Array of bf16 pairs");
    return env.Undefined();
  }
  auto w = info[1].As<Napi::Int32Array>();
  if (static_cast<int64_t>(w.ElementLength()) * 2 < K * N) {
    Fail(env, "bf16MatMul: the weight holds " + std::to_string(w.ElementLength() * 2) + " bf16 values, needs " + std::to_string(K * N));
    return env.Undefined();
  }
  float *x, *o;
  if (!F32(info, 0, M * K, &x) || !F32(info, 2, M * N, &o)) return env.Undefined();
  const auto* wd = reinterpret_cast<const uint16_t*>(w.Data());
  return Launch(env, [=] { birdvlm::bf16_matmul(static_cast<int>(M), static_cast<int>(N), static_cast<int>(K), x, wd, o); });
}

// bf16GatherRows(w: Int32Array, rows: Int32Array, out: Float32Array, dim): out[i, :] = W[rows[i], :] widened, W's
// bf16 values row-major [*, dim] in the 16-bit halves of w.
Napi::Value Bf16GatherRows(const Napi::CallbackInfo& info) {
  auto env = info.Env();
  const int64_t dim = Int(info, 3);
  if (!info[0].IsTypedArray() || info[0].As<Napi::TypedArray>().TypedArrayType() != napi_int32_array ||
      !info[1].IsTypedArray() || info[1].As<Napi::TypedArray>().TypedArrayType() != napi_int32_array || dim <= 0) {
    Fail(env, "bf16GatherRows: w and rows must be Int32Arrays and dim positive");
    return env.Undefined();
  }
  auto w = info[0].As<Napi::Int32Array>();
  auto rows = info[1].As<Napi::Int32Array>();
  const int64_t count = static_cast<int64_t>(w.ElementLength()) * 2 / dim, n = rows.ElementLength();
  for (int64_t i = 0; i < n; i++)
    if (rows.Data()[i] < 0 || rows.Data()[i] >= count) {
      Fail(env, "bf16GatherRows: row " + std::to_string(rows.Data()[i]) + " out of range [0, " + std::to_string(count) + ")");
      return env.Undefined();
    }
  float* o;
  if (!F32(info, 2, n * dim, &o)) return env.Undefined();
  const auto* wd = reinterpret_cast<const uint16_t*>(w.Data());
  const int32_t* rd = rows.Data();
  return Launch(env, [=] { birdvlm::bf16_gather_rows(wd, dim, rd, n, o); });
}

// poolCheck(jobs): runs `jobs` jobs of 2..14 tasks on the pool and returns how many tasks did not run exactly
// once (0 when the pool is sound; a test calls it).
Napi::Value PoolCheck(const Napi::CallbackInfo& info) {
  const int64_t jobs = Int(info, 0);
  int64_t bad = 0;
  const bool ok = RunOnExecutor(info.Env(), [&] {
    for (int64_t j = 0; j < jobs; j++) {
      const int tasks = 2 + static_cast<int>(j % 13);
      std::vector<std::atomic<int>> hits(tasks);
      for (auto& h : hits) h.store(0);
      pool().run(tasks, [&](int i) { hits[i].fetch_add(1); });
      for (auto& h : hits) bad += h.load() != 1;
    }
  });
  if (!ok) return info.Env().Undefined();
  return Napi::Number::New(info.Env(), static_cast<double>(bad));
}

// synchronize(): waits until every queued kernel has run (throws the error of one that failed).
Napi::Value SynchronizeLaunches(const Napi::CallbackInfo& info) {
  Synchronize(info.Env());
  return info.Env().Undefined();
}

// launchesCompleted(): the sequence number of the last queued kernel that has run.
Napi::Value LaunchesCompleted(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(birdvlm::launches_completed()));
}

// setAsync(on): queue kernel launches (true) or run each before returning (false); returns the previous setting.
Napi::Value SetAsync(const Napi::CallbackInfo& info) {
  const bool before = birdvlm::async_launches();
  birdvlm::set_async(info[0].ToBoolean());
  if (!Synchronize(info.Env())) return info.Env().Undefined();
  return Napi::Boolean::New(info.Env(), before);
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("info", Napi::Function::New(env, Info));
  exports.Set("setThreads", Napi::Function::New(env, SetThreads));
  exports.Set("matmul", Napi::Function::New(env, MatMul));
  exports.Set("biasActivation", Napi::Function::New(env, BiasActivation));
  exports.Set("unary", Napi::Function::New(env, Unary));
  exports.Set("leakyRelu", Napi::Function::New(env, LeakyRelu));
  exports.Set("binary", Napi::Function::New(env, Binary));
  exports.Set("softmax", Napi::Function::New(env, Softmax));
  exports.Set("reduce", Napi::Function::New(env, Reduce));
  exports.Set("transpose", Napi::Function::New(env, Transpose));
  exports.Set("stridedCopy", Napi::Function::New(env, StridedCopy));
  exports.Set("normRows", Napi::Function::New(env, NormRows));
  exports.Set("attention", Napi::Function::New(env, Attention));
  exports.Set("swiglu", Napi::Function::New(env, SwiGLU));
  exports.Set("bf16MatMul", Napi::Function::New(env, Bf16MatMul));
  exports.Set("bf16GatherRows", Napi::Function::New(env, Bf16GatherRows));
  exports.Set("poolCheck", Napi::Function::New(env, PoolCheck));
  birdvlm::register_training(env, exports);
  birdvlm::register_conv(env, exports);
  birdvlm::register_image(env, exports);
  exports.Set("synchronize", Napi::Function::New(env, SynchronizeLaunches));
  exports.Set("launchesCompleted", Napi::Function::New(env, LaunchesCompleted));
  exports.Set("setAsync", Napi::Function::New(env, SetAsync));
  napi_add_env_cleanup_hook(
      env,
      [](void*) {
        birdvlm::shutdown_stream();
        birdvlm::shutdown_pool();
      },
      nullptr);
  return exports;
}

}  // namespace

NODE_API_MODULE(birdvlm_native, Init)
