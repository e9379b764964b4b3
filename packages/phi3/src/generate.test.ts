import { tf } from "@birdvlm/core";
import { afterAll, describe, expect, it } from "vitest";
import { Phi3ForCausalLM } from "./phi3-for-causal-lm.js";
import { tinyConfig } from "./test-utils.js";

describe("Phi3ForCausalLM.generate", () => {
  const lm = new Phi3ForCausalLM(tinyConfig({ numKeyValueHeads: 2 }), { seed: 11 });
  afterAll(() => lm.dispose());
  const prompts = [
    [5, 9, 3],
    [7, 12, 40, 33, 21, 8],
    [60, 2],
  ];

  it("gives the same tokens with the cache as recomputing without it, and frees every tensor", async () => {
    const before = tf.memory().numTensors;
    const cached = await lm.generate(prompts, { maxNewTokens: 10 });
    expect(tf.memory().numTensors).toBe(before);
    const recomputed = await lm.generate(prompts, { maxNewTokens: 10, useCache: false });
    expect(tf.memory().numTensors).toBe(before);
    expect(cached).toEqual(recomputed);
    expect(cached.map((r) => r.length)).toEqual([10, 10, 10]);
    expect(new Set(cached.flat()).size).toBeGreaterThan(3);
  });

  it("gives the same tokens for a left-padded batch as for each prompt alone", async () => {
    const batched = await lm.generate(prompts, { maxNewTokens: 10 });
    const alone = [];
    for (const p of prompts) alone.push((await lm.generate([p], { maxNewTokens: 10 }))[0]);
    expect(batched).toEqual(alone);
  });

  it("uses promptEmbeds instead of the prompt's embeddings", async () => {
    const embeds = prompts.map((p) => lm.embed(tf.tensor2d([p], [1, p.length], "int32")));
    const same = await lm.generate(prompts, { maxNewTokens: 6, promptEmbeds: embeds });
    expect(same).toEqual(await lm.generate(prompts, { maxNewTokens: 6 }));
    const noCache = await lm.generate(prompts, { maxNewTokens: 6, promptEmbeds: embeds, useCache: false });
    expect(noCache).toEqual(same);
    const changed = embeds.map((e) => tf.mul(e, -1) as tf.Tensor3D);
    const other = await lm.generate(prompts, { maxNewTokens: 6, promptEmbeds: changed });
    expect(other).not.toEqual(same);
    tf.dispose([...embeds, ...changed]);
    await expect(lm.generate(prompts, { maxNewTokens: 2, promptEmbeds: [embeds[0]!] })).rejects.toThrow(
      /promptEmbeds has 1 entries/,
    );
  });

  it("stops a sequence at a stop token and streams every token", async () => {
    const [free] = await lm.generate([prompts[1]!], { maxNewTokens: 8 });
    const stop = free![3]!;
    const firstStop = free!.indexOf(stop);
    const streamed: Array<[number, number]> = [];
    const out = await lm.generate([prompts[1]!, prompts[0]!], {
      maxNewTokens: 8,
      stopTokenIds: [stop],
      onToken: (t, i) => streamed.push([t, i]),
    });
    expect(out[0]).toEqual(free!.slice(0, firstStop + 1));
    expect(streamed.filter(([, i]) => i === 0).map(([t]) => t)).toEqual(out[0]);
    expect(streamed.filter(([, i]) => i === 1).map(([t]) => t)).toEqual(out[1]);
  });

  it("samples reproducibly for a seed; top-k 1 is greedy; top-p keeps the likeliest tokens", async () => {
    const greedy = await lm.generate(prompts, { maxNewTokens: 8 });
    const s1 = await lm.generate(prompts, { maxNewTokens: 8, doSample: true, temperature: 1.5, seed: 1 });
    const s1again = await lm.generate(prompts, { maxNewTokens: 8, doSample: true, temperature: 1.5, seed: 1 });
    const s2 = await lm.generate(prompts, { maxNewTokens: 8, doSample: true, temperature: 1.5, seed: 2 });
    expect(s1).toEqual(s1again);
    expect(s1).not.toEqual(s2);
    expect(await lm.generate(prompts, { maxNewTokens: 8, doSample: true, topK: 1, seed: 3 })).toEqual(greedy);
    expect(await lm.generate(prompts, { maxNewTokens: 8, doSample: true, topP: 1e-6, seed: 4 })).toEqual(greedy);
    await expect(lm.generate(prompts, { maxNewTokens: 2, doSample: true, topP: 0 })).rejects.toThrow(/topP/);
  });

  it("rejects bad prompts naming them", async () => {
    await expect(lm.generate([[1, 2], []], { maxNewTokens: 2 })).rejects.toThrow(/prompt 1 is empty/);
    await expect(lm.generate([[1, 999]], { maxNewTokens: 2 })).rejects.toThrow(/token 999 at 1/);
  });
});
