import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { tf } from "@birdvlm/core";
import { describe, expect, it } from "vitest";
import { applyLoRA, loadLoRA, loraAdaptersOf, mergeLoRA } from "./lora.js";
import { Phi3ForCausalLM } from "./phi3-for-causal-lm.js";
import { tinyConfig } from "./test-utils.js";

function maxDiff(a: tf.Tensor, b: tf.Tensor): number {
  return tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]!);
}

const x = () => tf.tensor2d([[3, 7, 1, 9, 4, 12]], [1, 6], "int32");

/** A few SGD steps of next-token cross-entropy on one sequence, over the model's trainable parameters. */
function train(lm: Phi3ForCausalLM, steps: number): number[] {
  const ids = x();
  const inputs = tf.slice(ids, [0, 0], [1, 5]) as tf.Tensor2D;
  const labels = tf.tidy(() => tf.oneHot(tf.reshape(tf.slice(ids, [0, 1], [1, 5]), [5]), 64));
  const losses: number[] = [];
  for (let s = 0; s < steps; s++) {
    const vars = lm.trainableParameters().map(([, v]) => v);
    const { value, grads } = tf.variableGrads(() => {
      const logits = tf.reshape(lm.forward(inputs, { training: true }).logits, [5, 64]);
      return tf.losses.softmaxCrossEntropy(labels, logits) as tf.Scalar;
    }, vars);
    losses.push(value.dataSync()[0]!);
    for (const v of vars) tf.tidy(() => v.assign(tf.sub(v, tf.mul(grads[v.name]!, 0.1))));
    tf.dispose([value, ...Object.values(grads)]);
  }
  tf.dispose([ids, inputs, labels]);
  return losses;
}

describe("LoRA", () => {
  it("trains only the adapters, then merges exactly", () => {
    const lm = new Phi3ForCausalLM(tinyConfig({ numKeyValueHeads: 2 }), { seed: 31 });
    const base = lm.stateDict();
    const ids = x();
    const before = lm.forward(ids).logits;
    const adapters = applyLoRA(lm, {
      rank: 2,
      alpha: 4,
      dropout: 0.1,
      targets: ["qkv_proj", "o_proj", "gate_up_proj", "down_proj"],
    });
    const names = lm.trainableParameters().map(([n]) => n);
    expect(names).toHaveLength(2 * 4 * 2);
    expect(names.every((n) => /\.lora_[AB]\.weight$/.test(n))).toBe(true);
    expect(names).toContain("model.layers.1.mlp.gate_up_proj.lora_B.weight");
    const fresh = lm.forward(ids).logits;
    expect(maxDiff(before, fresh)).toBe(0); // B starts at zero

    const tensorsBefore = tf.memory().numTensors;
    const losses = train(lm, 8);
    expect(tf.memory().numTensors).toBe(tensorsBefore);
    expect(losses.at(-1)!).toBeLessThan(losses[0]!);
    const afterBase = lm.stateDict();
    for (const [n, t] of Object.entries(base)) expect(maxDiff(t, afterBase[n]!), n).toBe(0);
    expect(Object.keys(afterBase).some((n) => n.includes("lora"))).toBe(false);

    const adapted = lm.forward(ids).logits;
    expect(maxDiff(adapted, before)).toBeGreaterThan(1e-3);
    expect(adapters.parameterCount()).toBe(lm.parameterCount({ trainableOnly: true }));
    mergeLoRA(lm);
    expect(loraAdaptersOf(lm)).toBeUndefined();
    expect(lm.trainableParameters()).toHaveLength(0);
    const merged = lm.forward(ids).logits;
    expect(maxDiff(adapted, merged)).toBeLessThan(1e-5);
    tf.dispose([ids, before, fresh, adapted, merged, ...Object.values(base), ...Object.values(afterBase)]);
    lm.dispose();
  });

  it("saves and loads the adapters alone (PEFT layout)", async () => {
    const dir = await mkdtemp(join(tmpdir(), "phi3-lora-"));
    const lm = new Phi3ForCausalLM(tinyConfig(), { seed: 32 });
    const adapters = applyLoRA(lm, { rank: 3, alpha: 6, targets: ["qkv_proj", "down_proj"], seed: 5 });
    train(lm, 3);
    await adapters.save(dir);
    expect((await readdir(dir)).sort()).toEqual(["adapter_config.json", "adapter_model.safetensors"]);
    const ids = x();
    const want = lm.forward(ids).logits;

    const other = new Phi3ForCausalLM(tinyConfig(), { seed: 32 });
    const loaded = await loadLoRA(other, dir);
    expect(loaded.options).toMatchObject({ rank: 3, alpha: 6, targets: ["qkv_proj", "down_proj"] });
    const got = other.forward(ids).logits;
    expect(maxDiff(want, got)).toBe(0);
    expect(() => applyLoRA(other, { rank: 1 })).toThrow(/already has LoRA adapters/);
    expect(() => applyLoRA(new Phi3ForCausalLM(tinyConfig()), { rank: 1, targets: ["k_proj" as never] })).toThrow(
      /unknown targets \[k_proj\]/,
    );
    tf.dispose([ids, want, got]);
    lm.dispose();
    other.dispose();
    await rm(dir, { recursive: true, force: true });
  });
});
