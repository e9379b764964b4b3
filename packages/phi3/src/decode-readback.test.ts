// No host read-back inside a decoding step (issue 8): each step of generate() reads only the chosen tokens
// (greedy: the argmax ids; sampling: the last logits row the sampler draws from). On every backend.
import { countReads } from "@birdvlm/core";
import { afterAll, describe, expect, it } from "vitest";
import { Phi3ForCausalLM } from "./phi3-for-causal-lm.js";
import { tinyConfig } from "./test-utils.js";

/** Runs `f` counting host read-backs. */
async function countingReads<T>(f: () => Promise<T>): Promise<{ value: T; reads: number }> {
  const counter = countReads();
  try {
    return { value: await f(), reads: counter.count };
  } finally {
    counter.restore();
  }
}

describe("generate() read-backs", () => {
  const lm = new Phi3ForCausalLM(tinyConfig({ numKeyValueHeads: 2, slidingWindow: 6 }), { seed: 11 });
  afterAll(() => lm.dispose());

  for (const [name, options] of [
    ["greedy", {}],
    ["sampling", { doSample: true, temperature: 0.8, topK: 5, seed: 3 }],
  ] as const) {
    it(`${name}: one read per step (the chosen tokens), prefill and cached decode steps alike, padded batch`, async () => {
      const prompts = [
        [5, 9, 3],
        [7, 12, 40, 33, 21, 8],
      ];
      const steps = 9; // past the sliding window of 6
      const { value, reads } = await countingReads(() => lm.generate(prompts, { maxNewTokens: steps, ...options }));
      expect(value.map((r) => r.length)).toEqual([steps, steps]);
      expect(reads).toBe(steps);
    });
  }
});
