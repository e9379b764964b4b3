// Each WGSL kernel against TF.js's own composition of the same op, both on the webgpu backend.
import { afterEach, expect, it } from "vitest";
import { tf } from "../../tf.js";
import { activationReference, biasActivation } from "../../ops/bias-activation.js";
import { attentionReference, fusedAttention } from "../../ops/fused-attention.js";
import { FusedKernelName, hasFusedKernel, setFusedKernelsEnabled } from "../../ops/fused-kernel.js";
import { layerNorm, layerNormReference } from "../../ops/layer-norm.js";
import { rmsNorm, rmsNormReference } from "../../ops/rms-norm.js";
import { swiglu, swigluReference } from "../../ops/swiglu.js";
import { maxAbsDiff, seeded } from "../../testing/tensors.js";
import { describeEachBackend } from "../../testing/backends.js";

describeEachBackend("WGSL kernels on webgpu equal TF.js's composition", ["webgpu"], () => {
  afterEach(() => setFusedKernelsEnabled(true));

  it("registers the WGSL fused kernels for webgpu", () => {
    const wgsl = [
      FusedKernelName.layerNorm,
      FusedKernelName.rmsNorm,
      FusedKernelName.biasActivation,
      FusedKernelName.swiglu,
      FusedKernelName.attention,
    ];
    for (const name of wgsl) expect(hasFusedKernel(name), name).toBe(true);
    setFusedKernelsEnabled(false);
    expect(hasFusedKernel(FusedKernelName.attention)).toBe(false);
  });

  it("LayerNorm and RMSNorm (rows of 192 = ViT-Tiny width, and 3072 = Phi-3-mini's)", async () => {
    for (const [N, C] of [
      [7, 192],
      [3, 3072],
    ]) {
      const x = seeded([N, C], 31, 3);
      const g = tf.add(1, seeded([C], 32, 0.2));
      const b = seeded([C], 33);
      expect(await maxAbsDiff(layerNorm(x, g, b, 1e-6), layerNormReference(x, g, b, 1e-6))).toBeLessThan(3e-5);
      expect(await maxAbsDiff(rmsNorm(x, g, 1e-5), rmsNormReference(x, g, 1e-5))).toBeLessThan(3e-5);
    }
  });

  it("bias + GELU (erf, tanh) and SiLU", async () => {
    const x = seeded([5, 3, 130], 34, 5);
    const b = seeded([130], 35);
    for (const act of ["gelu", "gelu_tanh", "silu"] as const) {
      expect(await maxAbsDiff(biasActivation(x, b, act), activationReference(tf.add(x, b), act)), act).toBeLessThan(
        3e-6,
      );
      expect(await maxAbsDiff(biasActivation(x, null, act), activationReference(x, act)), act).toBeLessThan(3e-6);
    }
  });

  it("SwiGLU (Phi-3's gate_up halves)", async () => {
    const x = seeded([3, 7, 2 * 100], 43, 4);
    expect(await maxAbsDiff(swiglu(x), swigluReference(x))).toBeLessThan(3e-6);
  });

  it("a long-K matmul (TF.js's split-K case) is exact to a host sum and bit-identical across runs", async () => {
    const a = seeded([16, 2400], 41);
    const b = seeded([2400, 40], 42);
    const first = await tf.matMul(a, b).data();
    const second = await tf.matMul(a, b).data();
    expect(Array.from(second)).toEqual(Array.from(first));
    const [A, B] = [await a.data(), await b.data()];
    let err = 0;
    for (let i = 0; i < 16; i++)
      for (let j = 0; j < 40; j++) {
        let s = 0;
        for (let k = 0; k < 2400; k++) s += A[i * 2400 + k] * B[k * 40 + j];
        err = Math.max(err, Math.abs(s - first[i * 40 + j]));
      }
    expect(err).toBeLessThan(1e-3);
  });

  const attentionCases = [
    {
      name: "ViT-Tiny head (T=197, D=64)",
      q: [1, 3, 197, 64],
      kv: [1, 3, 197, 64],
      attrs: { causal: false, window: 0, offset: 0 },
      mask: undefined,
    },
    {
      name: "Phi-3 prefill, causal + window 5",
      q: [2, 2, 11, 16],
      kv: [2, 2, 11, 16],
      attrs: { causal: true, window: 5, offset: 0 },
      mask: [2, 1, 1, 11],
    },
    {
      name: "Phi-3 decode on a 70-entry cache (offset 70, GQA 4:2)",
      q: [1, 4, 1, 32],
      kv: [1, 2, 71, 32],
      attrs: { causal: true, window: 0, offset: 70 },
      mask: undefined,
    },
    {
      name: "2,100 keys (three online-softmax chunks of 1,024), causal",
      q: [1, 1, 3, 8],
      kv: [1, 1, 2100, 8],
      attrs: { causal: true, window: 0, offset: 2097 },
      mask: undefined,
    },
    {
      name: "D=96 (two dims per invocation), mask per query row",
      q: [1, 1, 6, 96],
      kv: [1, 1, 9, 96],
      attrs: { causal: false, window: 0, offset: 3 },
      mask: [1, 1, 6, 9],
    },
  ];
  for (const c of attentionCases) {
    it(`fused attention: ${c.name}`, async () => {
      const q = seeded(c.q, 36, 1.5) as tf.Tensor4D;
      const k = seeded(c.kv, 37, 1.5) as tf.Tensor4D;
      const v = seeded(c.kv, 38) as tf.Tensor4D;
      const mask = c.mask ? tf.mul(tf.cast(tf.greater(seeded(c.mask, 39), 0.6), "float32"), -1e9) : undefined;
      const attrs = { ...c.attrs, scale: 1 / Math.sqrt(c.q[3]) };
      const fused = fusedAttention(q, k, v, { ...c.attrs, mask });
      expect(await maxAbsDiff(fused, attentionReference(q, k, v, attrs, mask))).toBeLessThan(2e-5);
    });
  }
});
