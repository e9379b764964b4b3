// The phi3 golden with bfloat16 linear weights. The golden checkpoint is F32, so the bf16 model (weights rounded
// to nearest even on load) is checked against the same checkpoint in float32 with its linear weights rounded
// to bf16: logits within the golden's 1e-4, the same 12 greedy tokens with and without the cache
// (which are also the float32 golden's).
import { readSafetensors, tf } from "@birdvlm/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sharedPath } from "../../../testing/shared.js";
import { Phi3ForCausalLM } from "./phi3-for-causal-lm.js";
import { roundWeightsToBf16 } from "./test-utils.js";

const dir = sharedPath("goldens/phi3-mini-shape-tiny");

describe.skipIf(!dir)("golden phi3-mini-shape-tiny with bfloat16 weights", () => {
  let lm: Phi3ForCausalLM;
  let ref: Phi3ForCausalLM;
  let golden: Record<string, tf.Tensor>;

  beforeAll(async () => {
    lm = await Phi3ForCausalLM.load(dir!, { weightDtype: "bfloat16" });
    ref = await Phi3ForCausalLM.load(dir!);
    roundWeightsToBf16(ref);
    golden = await readSafetensors(`${dir}/golden.safetensors`);
  });

  afterAll(() => {
    lm?.dispose();
    ref?.dispose();
    for (const t of Object.values(golden ?? {})) t.dispose();
  });

  it("holds bf16 linear weights", () => {
    expect(lm.weightDtype).toBe("bfloat16");
  });

  it("reproduces the rounded-weight float32 logits within 1e-4 (and stays near the float32 golden)", () => {
    const ids = golden.input_ids as tf.Tensor2D;
    const { logits } = lm.forward(ids);
    const { logits: want } = ref.forward(ids);
    const err = tf.tidy(() => tf.max(tf.abs(tf.sub(logits, want))).dataSync()[0]!);
    const fromGolden = tf.tidy(() => tf.max(tf.abs(tf.sub(logits, golden.logits!))).dataSync()[0]!);
    tf.dispose([logits, want]);
    expect(err).toBeLessThan(1e-4);
    // bf16 rounding of the weights moves the logits by far less than their spread, but more than 1e-4.
    expect(fromGolden).toBeLessThan(0.05);
  });

  it("generates the rounded-weight model's 12 greedy tokens, with and without the cache", async () => {
    const prompt = Array.from(golden.prompt_ids!.dataSync());
    const [expected] = await ref.generate([prompt], { maxNewTokens: 12 });
    expect(expected).toHaveLength(12);
    const before = tf.memory().numTensors;
    const [cached] = await lm.generate([prompt], { maxNewTokens: 12 });
    expect(tf.memory().numTensors).toBe(before);
    expect(cached).toEqual(expected);
    const [recomputed] = await lm.generate([prompt], { maxNewTokens: 12, useCache: false });
    expect(recomputed).toEqual(expected);
    const goldenTokens = Array.from(golden.generated_ids!.dataSync()).slice(prompt.length);
    // This checkpoint's greedy continuation survives the rounding: the float32 golden's 12 tokens too.
    expect(cached).toEqual(goldenTokens);
  });
});
