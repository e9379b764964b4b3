// BirdVLM's fused ops (core `ops/`) against TF.js's composition of the same op, at ViT-Tiny shapes (batch 8:
// 8 x 197 tokens, width 192, MLP 768, 3 heads of 64). On `webgpu` the `-fused` cases run the WGSL kernels and
// the `-tfjs` cases TF.js's kernels; on other backends both run the same composition.
import { biasActivation, fusedAttention, layerNorm, setFusedKernelsEnabled, tf } from "@birdvlm/core";
import { defineCase, type BenchCase } from "../harness.js";

const [B, T, C, HIDDEN, H, D] = [8, 197, 192, 768, 3, 64];

function variants(
  name: string,
  unit: string,
  make: () => { run: () => tf.Tensor; units: number; inputs: tf.Tensor[] },
): BenchCase[] {
  return ([true, false] as const).map((fused) =>
    defineCase({
      name: `${name}-${fused ? "fused" : "tfjs"}`,
      unit,
      warmup: 2,
      runs: 7,
      async setup() {
        setFusedKernelsEnabled(fused);
        const { run, units, inputs } = make();
        return {
          async step() {
            const out = run();
            await out.data();
            out.dispose();
            return units;
          },
          dispose() {
            tf.dispose(inputs);
          },
        };
      },
    }),
  );
}

export default [
  ...variants("attention-vit-b8", "GFLOP/s", () => {
    const [q, k, v] = [1, 2, 3].map((s) => tf.randomNormal([B, H, T, D], 0, 1, "float32", s)) as tf.Tensor4D[];
    return { run: () => fusedAttention(q, k, v), units: (4 * B * H * T * T * D) / 1e9, inputs: [q, k, v] };
  }),
  ...variants("layernorm-vit-b8", "Mtok/s", () => {
    const x = tf.randomNormal([B * T, C], 0, 1, "float32", 4);
    const g = tf.ones([C]);
    const b = tf.zeros([C]);
    return { run: () => layerNorm(x, g, b, 1e-6), units: (B * T) / 1e6, inputs: [x, g, b] };
  }),
  ...variants("bias-gelu-vit-b8", "Mtok/s", () => {
    const x = tf.randomNormal([B * T, HIDDEN], 0, 1, "float32", 5);
    const b = tf.zeros([HIDDEN]);
    return { run: () => biasActivation(x, b, "gelu"), units: (B * T) / 1e6, inputs: [x, b] };
  }),
];
