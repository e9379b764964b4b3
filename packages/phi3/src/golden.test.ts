import { readSafetensors, tf } from "@birdvlm/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sharedPath } from "../../../testing/shared.js";
import { Phi3ForCausalLM } from "./phi3-for-causal-lm.js";

const dir = sharedPath("goldens/phi3-mini-shape-tiny");

describe.skipIf(!dir)("golden phi3-mini-shape-tiny (transformers Phi3ForCausalLM)", () => {
  let lm: Phi3ForCausalLM;
  let golden: Record<string, tf.Tensor>;

  beforeAll(async () => {
    lm = await Phi3ForCausalLM.load(dir!);
    golden = await readSafetensors(`${dir}/golden.safetensors`);
  });

  afterAll(() => {
    lm?.dispose();
    for (const t of Object.values(golden ?? {})) t.dispose();
  });

  it("loads the config and every tensor", () => {
    expect(lm.config.vocabSize).toBe(32064);
    expect(lm.config.slidingWindow).toBe(2047);
    expect(lm.parameterCount()).toBe(2072736);
  });

  it("reproduces the logits within 1e-4", () => {
    const { logits } = lm.forward(golden.input_ids as tf.Tensor2D);
    const err = tf.tidy(() => tf.max(tf.abs(tf.sub(logits, golden.logits!))).dataSync()[0]!);
    logits.dispose();
    expect(logits.shape).toEqual(golden.logits!.shape);
    expect(err).toBeLessThan(1e-4);
  });

  it("generates the 12 greedy tokens exactly, with and without the cache", async () => {
    const prompt = Array.from(golden.prompt_ids!.dataSync());
    const expected = Array.from(golden.generated_ids!.dataSync()).slice(prompt.length);
    expect(expected).toHaveLength(12);
    const before = tf.memory().numTensors;
    const [cached] = await lm.generate([prompt], { maxNewTokens: 12 });
    expect(tf.memory().numTensors).toBe(before);
    expect(cached).toEqual(expected);
    const [recomputed] = await lm.generate([prompt], { maxNewTokens: 12, useCache: false });
    expect(recomputed).toEqual(expected);
  });
});
