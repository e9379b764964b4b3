// The native BirdVLMFusedAttention (and its backward) and BirdVLMSwiGLU kernels against the cpu backend (which runs the ops'
// TF.js compositions): values and gradients, masks, causal/window rules, offsets, grouped-query heads, KV
// capacity beyond kvLength, both inner paths (dot products for a few query rows, SGEMM for more).
import { expect, it } from "vitest";
import { tf } from "../../../tf.js";
import { loadAddon } from "../addon.js";
import { fusedAttention, qkvAttention, type AttentionOptions } from "../../../ops/fused-attention.js";
import { FusedKernelName, runFusedKernel, runFusedKernelOutputs } from "../../../ops/fused-kernel.js";
import { swiglu } from "../../../ops/swiglu.js";
import { seeded } from "../../../testing/tensors.js";
import { describeEachBackend, valuesOn } from "../../../testing/backends.js";

/** Runs `fn` on cpu and on native; returns each output's values (native first) and shape. */
async function nativeAndCpu(fn: () => tf.Tensor[]): Promise<Array<[ArrayLike<number>, ArrayLike<number>, number[]]>> {
  const cpu = await valuesOn("cpu", fn);
  const native = await valuesOn("native", fn);
  return native.map((n, i) => {
    expect(n.shape).toEqual(cpu[i]!.shape);
    return [n.values, cpu[i]!.values, n.shape];
  });
}

function worst(a: ArrayLike<number>, e: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < e.length; i++) m = Math.max(m, Math.abs(a[i]! - e[i]!) / (1 + Math.abs(e[i]!)));
  return Number.isNaN(m) ? Infinity : m;
}

interface Case {
  name: string;
  q: number[];
  kv: number[];
  o: AttentionOptions & { maskShape?: number[] };
}

const cases: Case[] = [
  { name: "ViT-like, no mask, 3 heads x 197 tokens x 64 (SGEMM path)", q: [1, 3, 197, 64], kv: [1, 3, 197, 64], o: {} },
  {
    name: "a ViT-64 training step's shape, batch 4 x 3 heads x 65 tokens",
    q: [4, 3, 65, 64],
    kv: [4, 3, 65, 64],
    o: {},
  },
  { name: "odd sizes, batch 2 (T=17, D=16)", q: [2, 3, 17, 16], kv: [2, 3, 17, 16], o: { scale: 0.3 } },
  { name: "causal prefill", q: [1, 2, 9, 8], kv: [1, 2, 9, 8], o: { causal: true } },
  { name: "causal with sliding window 4", q: [1, 2, 10, 8], kv: [1, 2, 10, 8], o: { causal: true, window: 4 } },
  { name: "decode step on a 7-token cache (dot path)", q: [2, 2, 1, 8], kv: [2, 2, 8, 8], o: { causal: true } },
  {
    name: "two new tokens, window, explicit offset",
    q: [1, 4, 2, 8],
    kv: [1, 4, 12, 8],
    o: { causal: true, window: 5, offset: 10 },
  },
  {
    name: "grouped-query heads with a [B,1,1,Tk] padding mask",
    q: [2, 4, 5, 8],
    kv: [2, 2, 5, 8],
    o: { causal: true, maskShape: [2, 1, 1, 5] },
  },
  {
    name: "full [B,H,Tq,Tk] mask, GQA, SGEMM rows",
    q: [1, 4, 24, 16],
    kv: [1, 2, 24, 16],
    o: { maskShape: [1, 4, 24, 24] },
  },
  { name: "[Tq,Tk] mask broadcast over batch and heads", q: [2, 2, 6, 8], kv: [2, 2, 6, 8], o: { maskShape: [6, 6] } },
  {
    name: "KV capacity 16 with 11 keys, decode",
    q: [1, 4, 1, 8],
    kv: [1, 2, 16, 8],
    o: { kvLength: 11, maskShape: [1, 1, 1, 11] },
  },
  {
    name: "KV capacity 32 with 21 keys, 5 causal queries",
    q: [2, 2, 5, 8],
    kv: [2, 2, 32, 8],
    o: { kvLength: 21, causal: true, window: 9 },
  },
  { name: "more keys than one packed block, D=72", q: [1, 1, 7, 72], kv: [1, 1, 300, 72], o: {} },
  {
    name: "a long prompt: scores split into blocks of rows to bound scratch memory",
    q: [1, 1, 1100, 8],
    kv: [1, 1, 1000, 8],
    o: { causal: true, offset: 0 },
  },
  {
    name: "K and V packed once per kv head for several row blocks: GQA, capacity, mask, causal, 300 keys",
    q: [1, 4, 40, 72],
    kv: [1, 2, 320, 72],
    o: { kvLength: 300, causal: true, maskShape: [1, 1, 40, 300] },
  },
];

describeEachBackend("native fused attention and SwiGLU kernels", ["native"], () => {
  it("are registered on native only", async () => {
    await tf.setBackend("native");
    expect(tf.getKernel("BirdVLMFusedAttention", "native")).toBeDefined();
    expect(tf.getKernel("BirdVLMSwiGLU", "native")).toBeDefined();
    expect(tf.getKernel("BirdVLMFusedAttentionGrad", "native")).toBeDefined();
    const q = seeded([1, 2, 5, 8], 36) as tf.Tensor4D;
    const p = await tf.profile(() =>
      tf.tidy(() => {
        tf.grads((a: tf.Tensor) => tf.sum(fusedAttention(a as tf.Tensor4D, q, q)))([q]);
      }),
    );
    const names = p.kernels.map((k) => k.name);
    expect(names).toContain("BirdVLMFusedAttentionGrad");
    expect(names).not.toContain("Softmax");
    q.dispose();
    expect(tf.getKernel("BirdVLMFusedAttention", "cpu")).toBeUndefined();
  });

  for (const c of cases) {
    it(`attention equals cpu's composition, gradients too: ${c.name}`, async () => {
      const results = await nativeAndCpu(() => {
        const q = seeded(c.q, 31, 1.5) as tf.Tensor4D;
        const k = seeded(c.kv, 32, 1.5) as tf.Tensor4D;
        const v = seeded(c.kv, 33) as tf.Tensor4D;
        const { maskShape, ...o } = c.o;
        const mask = maskShape ? tf.mul(tf.cast(tf.greater(seeded(maskShape, 34), 0.4), "float32"), -1e9) : undefined;
        const opts = { ...o, mask };
        const w = seeded(c.q, 35);
        const value = fusedAttention(q, k, v, opts);
        const grads = tf.grads((a: tf.Tensor, b: tf.Tensor, d: tf.Tensor) =>
          tf.sum(tf.mul(fusedAttention(a as tf.Tensor4D, b as tf.Tensor4D, d as tf.Tensor4D, opts), w)),
        )([q, k, v]);
        return [value, ...grads];
      });
      expect(worst(results[0]![0], results[0]![1])).toBeLessThan(2e-6);
      for (let i = 1; i < 4; i++) expect(worst(results[i]![0], results[i]![1]), `gradient ${i}`).toBeLessThan(2e-5);
      if (c.o.kvLength !== undefined) {
        // Spare capacity gets no gradient.
        const [dk, , shape] = results[2]!;
        const [cap, D] = [shape[2]!, shape[3]!];
        for (let p = 0; p < dk.length / D; p++)
          if (p % cap >= c.o.kvLength) for (let d = 0; d < D; d++) expect(dk[p * D + d]).toBe(0);
      }
    });
  }

  for (const [B, T, H, D] of [
    [4, 65, 3, 64],
    [2, 17, 2, 8],
    [1, 3, 1, 5],
  ]) {
    it(`qkvAttention reads q, k, v in place and equals cpu's composition, gradient too: [${B}, ${T}, 3x${H}x${D}]`, async () => {
      const results = await nativeAndCpu(() => {
        const qkv = seeded([B!, T!, 3 * H! * D!], 37, 1.5) as tf.Tensor3D;
        const w = seeded([B!, T!, H! * D!], 38);
        const [dqkv] = tf.grads((a: tf.Tensor) => tf.sum(tf.mul(qkvAttention(a as tf.Tensor3D, H!), w)))([qkv]);
        return [qkvAttention(qkv, H!, { scale: 0.2 }), qkvAttention(qkv, H!), dqkv!];
      });
      expect(results[0]![2]).toEqual([B, T, H! * D!]);
      expect(worst(results[0]![0], results[0]![1])).toBeLessThan(2e-6);
      expect(worst(results[1]![0], results[1]![1])).toBeLessThan(2e-6);
      expect(worst(results[2]![0], results[2]![1]), "gradient").toBeLessThan(2e-5);
    });
  }

  for (const [B, T, H, D, Tq] of [
    [4, 65, 3, 64, 1], // a class token's last block
    [2, 65, 2, 32, 17], // enough query rows for the packed products
    [2, 9, 2, 4, 2], // on the calling thread
  ]) {
    it(`qkvAttention with the first ${Tq} of ${T} tokens querying: cpu's composition and the full attention's rows, gradient too`, async () => {
      const results = await nativeAndCpu(() => {
        const qkv = seeded([B!, T!, 3 * H! * D!], 43, 1.5) as tf.Tensor3D;
        const w = seeded([B!, Tq!, H! * D!], 44);
        const part = (a: tf.Tensor) => tf.sum(tf.mul(qkvAttention(a as tf.Tensor3D, H!, { queries: Tq }), w));
        // The full attention with the same weights on the first Tq rows and none on the rest: the same gradient.
        const padded = tf.pad(w, [
          [0, 0],
          [0, T! - Tq!],
          [0, 0],
        ]);
        const full = (a: tf.Tensor) => tf.sum(tf.mul(qkvAttention(a as tf.Tensor3D, H!), padded));
        const rows = tf.slice(qkvAttention(qkv, H!), [0, 0, 0], [-1, Tq!, -1]);
        return [qkvAttention(qkv, H!, { queries: Tq }), rows, tf.grads(part)([qkv])[0]!, tf.grads(full)([qkv])[0]!];
      });
      const [[out, outCpu, shape], [rows], [grad, gradCpu], [fullGrad]] = results as [
        [ArrayLike<number>, ArrayLike<number>, number[]],
        ...Array<[ArrayLike<number>, ArrayLike<number>, number[]]>,
      ];
      expect(shape).toEqual([B, Tq, H! * D!]);
      expect(worst(out, outCpu)).toBeLessThan(2e-6);
      expect(worst(out, rows)).toBeLessThan(2e-6);
      expect(worst(grad, gradCpu), "gradient").toBeLessThan(2e-5);
      expect(worst(grad, fullGrad), "gradient against the full attention's").toBeLessThan(2e-5);
      // The q of the tokens that did not query gets exactly 0 (the kernel's output buffer is not zeroed for it).
      const width = 3 * H! * D!;
      for (let b = 0; b < B!; b++)
        for (let t = Tq!; t < T!; t++) for (let j = 0; j < H! * D!; j++) expect(grad[(b * T! + t) * width + j]).toBe(0);
    });
  }

  it("qkvAttention rejects a number of queries outside 1..T", () => {
    const qkv = tf.zeros([1, 4, 6]) as tf.Tensor3D;
    for (const queries of [0, 5, 1.5]) expect(() => qkvAttention(qkv, 1, { queries })).toThrow(/queries .* 1 to T = 4/);
    qkv.dispose();
  });

  it("qkvAttention runs one kernel each way on native and rejects a width that heads do not divide", async () => {
    await tf.setBackend("native");
    const qkv = seeded([2, 5, 3 * 2 * 4], 39) as tf.Tensor3D;
    const p = await tf.profile(() =>
      tf.tidy(() => {
        tf.grads((a: tf.Tensor) => tf.sum(qkvAttention(a as tf.Tensor3D, 2)))([qkv]);
      }),
    );
    const names = p.kernels.map((k) => k.name).filter((n) => n.startsWith("BirdVLM") || n === "Transpose");
    // Recording gradients, the forward keeps its probabilities for the backward; outside, it keeps none.
    expect(names).toEqual(["BirdVLMQkvAttentionTraining", "BirdVLMQkvAttentionGrad"]);
    const inference = await tf.profile(() => tf.tidy(() => qkvAttention(qkv, 2)));
    expect(inference.kernels.map((k) => k.name).filter((n) => n.startsWith("BirdVLM"))).toEqual([
      "BirdVLMQkvAttention",
    ]);
    expect(() => qkvAttention(qkv, 5)).toThrow(/3 \* heads \* D/);
    qkv.dispose();
  });

  it("the backward given the forward's probabilities equals the one that recomputes them", async () => {
    await tf.setBackend("native");
    for (const [B, T, H, D] of [
      [8, 65, 3, 64], // threaded, a task per head
      [1, 65, 2, 64], // threaded, blocks of rows per head against K and V packed once
      [1, 5, 2, 4], // on the calling thread
    ] as const) {
      tf.tidy(() => {
        const qkv = seeded([B, T, 3 * H * D], 40, 1.5);
        const dy = seeded([B, T, H * D], 41);
        const attrs = { heads: H, scale: 1 / Math.sqrt(D) };
        const [out, probs] = runFusedKernelOutputs(FusedKernelName.qkvAttentionTraining, { qkv }, attrs);
        expect(probs!.shape).toEqual([B, H, T, T]);
        // Each row of probabilities sums to 1, and the output is theirs.
        const rowSums = tf.sum(probs!, -1).dataSync();
        for (const v of rowSums) expect(v).toBeCloseTo(1, 5);
        expect(worst(out!.dataSync(), runFusedKernel(FusedKernelName.qkvAttention, { qkv }, attrs).dataSync())).toBe(0);
        const kept = runFusedKernel(FusedKernelName.qkvAttentionGrad, { qkv, dy, probs: probs! }, attrs);
        const recomputed = runFusedKernel(FusedKernelName.qkvAttentionGrad, { qkv, dy }, attrs);
        expect(worst(kept.dataSync(), recomputed.dataSync())).toBeLessThan(1e-6);
        expect(() =>
          runFusedKernel(FusedKernelName.qkvAttentionGrad, { qkv, dy, probs: tf.zeros([B, H, T]) }, attrs),
        ).toThrow(/argument 15/);
      });
    }
  });

  it("a fully masked row is uniform, as in the composition", async () => {
    const [[got, want]] = await nativeAndCpu(() => {
      const q = seeded([1, 1, 2, 4], 41) as tf.Tensor4D;
      const k = seeded([1, 1, 3, 4], 42) as tf.Tensor4D;
      return [fusedAttention(q, k, k, { causal: true, offset: -1 })];
    });
    expect(worst(got, want)).toBeLessThan(2e-6);
  });

  it("SwiGLU equals cpu's composition, gradient too (odd widths, one row and many)", async () => {
    for (const shape of [
      [1, 2 * 2048],
      [3, 17, 2 * 65],
    ]) {
      const results = await nativeAndCpu(() => {
        const x = seeded(shape, 51, 4);
        const w = seeded([...shape.slice(0, -1), shape[shape.length - 1]! / 2], 52);
        const value = swiglu(x);
        const [dx] = tf.grads((a: tf.Tensor) => tf.sum(tf.mul(swiglu(a), w)))([x]);
        return [value, dx!];
      });
      for (const [a, e] of results) expect(worst(a, e)).toBeLessThan(2e-6);
    }
  });

  it("leaks no tensor in a loop", async () => {
    await tf.setBackend("native");
    const q = seeded([1, 2, 5, 8], 61) as tf.Tensor4D;
    const k = seeded([1, 1, 9, 8], 62) as tf.Tensor4D;
    const step = () =>
      tf.tidy(() => {
        tf.grads((a: tf.Tensor, b: tf.Tensor) =>
          tf.sum(fusedAttention(a as tf.Tensor4D, b as tf.Tensor4D, b as tf.Tensor4D, { causal: true, kvLength: 7 })),
        )([q, k]);
        swiglu(tf.concat([q, q], -1));
        tf.grads((a: tf.Tensor) => tf.sum(qkvAttention(a as tf.Tensor3D, 2)))([
          tf.reshape(tf.concat([q, q, q], -1), [2, 5, 24]),
        ]);
      });
    step();
    const before = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) step();
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([q, k]);
  });

  it("the thread pool runs every task of every job exactly once", () => {
    expect(loadAddon().poolCheck(20000)).toBe(0);
  });

  it("rejects a kvLength beyond k's positions", async () => {
    await tf.setBackend("native");
    const q = tf.zeros([1, 1, 1, 4]) as tf.Tensor4D;
    const k = tf.zeros([1, 1, 3, 4]) as tf.Tensor4D;
    expect(() => fusedAttention(q, k, k, { kvLength: 4 })).toThrow(/kvLength 4/);
    tf.dispose([q, k]);
  });
});
