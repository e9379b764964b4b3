// GEMM throughput in GFLOP/s: 1024³ in each transpose layout, and ViT-Tiny attention's batched products at
// batch 12 (36 = 12 images x 3 heads): scores [36,197,64]@[36,64,197] and back [36,197,197]@[36,197,64].
import { tf } from "@birdvlm/core";
import { defineCase, type BenchCase } from "../harness.js";

function gemm(name: string, transposeA: boolean, transposeB: boolean, n = 1024): BenchCase {
  return defineCase({
    name,
    unit: "GFLOP/s",
    warmup: 2,
    runs: 7,
    async setup() {
      const a = tf.randomNormal([n, n]);
      const b = tf.randomNormal([n, n]);
      return {
        async step() {
          const c = tf.matMul(a, b, transposeA, transposeB);
          await c.data();
          c.dispose();
          return (2 * n * n * n) / 1e9;
        },
        dispose() {
          a.dispose();
          b.dispose();
        },
      };
    },
  });
}

const batched = defineCase({
  name: "matmul-batched",
  unit: "GFLOP/s",
  warmup: 2,
  runs: 7,
  async setup() {
    const [bh, t, d] = [36, 197, 64];
    const q = tf.randomNormal([bh, t, d]);
    const k = tf.randomNormal([bh, d, t]);
    const v = tf.randomNormal([bh, t, d]);
    return {
      async step() {
        const out = tf.tidy(() => tf.matMul(tf.matMul(q, k), v));
        await out.data();
        out.dispose();
        return (2 * 2 * bh * t * t * d) / 1e9;
      },
      dispose() {
        tf.dispose([q, k, v]);
      },
    };
  },
});

export default [
  gemm("matmul-plain", false, false),
  gemm("matmul-transA", true, false),
  gemm("matmul-transB", false, true),
  batched,
];
