// Phi-3 with bfloat16 linear weights against the same model in float32 with its weights rounded to bf16: the
// same logits (prefill and cached decoding) up to float32 summation order, the same greedy tokens; inference only.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Bf16Weight, tf } from "@birdvlm/core";
import { describe, expect, it } from "vitest";
import { bf16Layers, linearLayers } from "./bf16-weights.js";
import { applyLoRA, mergeLoRA } from "./lora.js";
import { Phi3ForCausalLM } from "./phi3-for-causal-lm.js";
import { roundWeightsToBf16, tinyConfig } from "./test-utils.js";

function maxDiff(a: tf.Tensor, b: tf.Tensor): number {
  return tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]!);
}

describe("Phi3ForCausalLM with bfloat16 weights", () => {
  const config = tinyConfig({ numKeyValueHeads: 2, hiddenSize: 48, intermediateSize: 80, vocabSize: 96 });

  it("matches the float32 model with rounded weights: logits, cached decoding, greedy tokens; frees everything", async () => {
    const baseline = tf.memory().numTensors;
    const ref = new Phi3ForCausalLM(config, { seed: 3 });
    roundWeightsToBf16(ref);
    const lm = new Phi3ForCausalLM(config, { seed: 3 }).toBf16Weights();
    expect(lm.weightDtype).toBe("bfloat16");
    expect(ref.weightDtype).toBe("float32");
    const names = linearLayers(lm).map(([n]) => n);
    expect(names).toContain("lm_head.weight");
    expect(names).toContain("model.layers.1.mlp.gate_up_proj.weight");
    expect(names).toHaveLength(2 * 4 + 1);
    expect(lm.model.embedTokens.weightDtype).toBe("bfloat16");

    const ids = tf.tensor2d([[5, 9, 17, 33, 2, 71, 40]], [1, 7], "int32");
    const a = ref.forward(ids).logits;
    const b = lm.forward(ids).logits;
    expect(maxDiff(a, b)).toBeLessThan(1e-4);
    tf.dispose([ids, a, b]);

    const prompt = [5, 9, 17, 33, 2];
    const [want] = await ref.generate([prompt], { maxNewTokens: 10 });
    const before = tf.memory().numTensors;
    const [got] = await lm.generate([prompt], { maxNewTokens: 10 });
    expect(tf.memory().numTensors).toBe(before);
    expect(got).toEqual(want);
    // Two prompts in one batch: two rows per product while decoding.
    const batch = [prompt, [7, 3, 60]];
    expect(await lm.generate(batch, { maxNewTokens: 6 })).toEqual(await ref.generate(batch, { maxNewTokens: 6 }));

    ref.dispose();
    lm.dispose();
    expect(tf.memory().numTensors).toBe(baseline);
  });

  it("keeps a tied head's embeddings float32 and still matches", () => {
    const tied = { ...config, tieWordEmbeddings: true };
    const ref = new Phi3ForCausalLM(tied, { seed: 5 });
    roundWeightsToBf16(ref);
    const lm = new Phi3ForCausalLM(tied, { seed: 5 }).toBf16Weights();
    expect(lm.model.embedTokens.weightDtype).toBe("float32");
    expect(lm.weightDtype).toBe("bfloat16");
    const ids = tf.tensor2d([[5, 9, 17]], [1, 3], "int32");
    const a = ref.forward(ids).logits;
    const b = lm.forward(ids).logits;
    expect(maxDiff(a, b)).toBeLessThan(1e-4);
    tf.dispose([ids, a, b]);
    ref.dispose();
    lm.dispose();
  });

  it("is inference only: a training forward (LoRA included), save and mergeLoRA fail with an error", async () => {
    const lm = new Phi3ForCausalLM(config, { seed: 1 }).toBf16Weights();
    const ids = tf.tensor2d([[1, 2, 3]], [1, 3], "int32");
    expect(() => lm.forward(ids, { training: true })).toThrow(/bfloat16 weights \(inference only\)/);
    const dir = await mkdtemp(join(tmpdir(), "phi3-bf16-"));
    await expect(lm.save(dir)).rejects.toThrow(/bfloat16 weights/);
    await rm(dir, { recursive: true, force: true });
    applyLoRA(lm, { rank: 2 });
    expect(() => lm.forward(ids, { training: true })).toThrow(/bfloat16 weights \(inference only\)/);
    const { logits } = lm.forward(ids);
    expect(logits.shape).toEqual([1, 3, config.vocabSize!]);
    logits.dispose();
    expect(() => mergeLoRA(lm)).toThrow(/bfloat16 weights/);
    ids.dispose();
    lm.dispose();
  });

  it("loads a BF16 checkpoint's linear weights bit for bit (and an F32 one rounded)", async () => {
    const dir = await mkdtemp(join(tmpdir(), "phi3-bf16-"));
    try {
      const source = new Phi3ForCausalLM(config, { seed: 4 });
      await source.save(dir);
      const rounded = await Phi3ForCausalLM.load(dir);
      roundWeightsToBf16(rounded);
      const fromF32 = await Phi3ForCausalLM.load(dir, { weightDtype: "bfloat16" });
      const expectBits = (lm: Phi3ForCausalLM) => {
        const byName = new Map(bf16Layers(lm));
        expect(byName.size).toBe(2 * 4 + 2);
        for (const [name, layer] of bf16Layers(rounded)) {
          const got = byName.get(name)!.bf16Weight!;
          const want = Bf16Weight.fromTensor(layer.weight as tf.Tensor2D);
          expect(got.shape, name).toEqual(want.shape);
          expect(Buffer.from(got.bits().buffer).equals(Buffer.from(want.bits().buffer)), name).toBe(true);
          want.dispose();
        }
      };
      expectBits(fromF32);
      // Rewrite the checkpoint with BF16 linear weights: they are read as stored (transposed on the host).
      const bf16Dir = join(dir, "bf16");
      await rounded.save(bf16Dir);
      const { writeCheckpoint, storeAs } = await import("@birdvlm/core");
      const state = rounded.stateDict();
      await writeCheckpoint(
        bf16Dir,
        Object.fromEntries(Object.entries(state).map(([n, t]) => [n, storeAs(t, "BF16")])),
      );
      const fromBf16 = await Phi3ForCausalLM.load(bf16Dir, { weightDtype: "bfloat16" });
      expectBits(fromBf16);
      tf.dispose(Object.values(state));
      for (const m of [source, rounded, fromF32, fromBf16]) m.dispose();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
