// No host read-back inside a decoding step (issue 8): each step of generate() reads only the chosen tokens
// (greedy: the argmax ids; sampling: the last logits row the sampler draws from). On every backend.
import { tf } from "@birdvlm/core";
import { afterAll, describe, expect, it } from "vitest";
import { Phi3ForCausalLM } from "./phi3-for-causal-lm.js";
import { tinyConfig } from "./test-utils.js";

type ReadMethods = Record<"data" | "dataSync", (this: tf.Tensor) => unknown>;

/** Runs `f` counting `data()` / `dataSync()` calls (what `array()`, `arraySync()`, `buffer*()` use). */
async function countingReads<T>(f: () => Promise<T>): Promise<{ value: T; reads: number }> {
  const proto = tf.Tensor.prototype as unknown as ReadMethods;
  const own: ReadMethods = { data: proto.data, dataSync: proto.dataSync };
  let reads = 0;
  for (const name of ["data", "dataSync"] as const) {
    proto[name] = function (this: tf.Tensor) {
      reads++;
      return own[name].call(this);
    };
  }
  try {
    return { value: await f(), reads };
  } finally {
    Object.assign(proto, own);
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
      const prompts = [[5, 9, 3], [7, 12, 40, 33, 21, 8]];
      const steps = 9; // past the sliding window of 6
      const { value, reads } = await countingReads(() => lm.generate(prompts, { maxNewTokens: steps, ...options }));
      expect(value.map((r) => r.length)).toEqual([steps, steps]);
      expect(reads).toBe(steps);
    });
  }
});
