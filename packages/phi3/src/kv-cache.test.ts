import { canWriteInPlace, setFusedKernelsEnabled, tf } from "@birdvlm/core";
import { afterAll, describe, expect, it } from "vitest";
import { Phi3KVCache } from "./kv-cache.js";
import { Phi3ForCausalLM } from "./phi3-for-causal-lm.js";
import { tinyConfig } from "./test-utils.js";

function seq(shape: number[], start: number): tf.Tensor4D {
  const n = shape.reduce((a, b) => a * b, 1);
  return tf.tensor4d(
    Float32Array.from({ length: n }, (_, i) => start + i),
    shape as [number, number, number, number],
  );
}

/** The first `length` positions of a layer's keys, read back. */
function filled(t: tf.Tensor4D, length: number): number[] {
  return Array.from(tf.tidy(() => tf.slice(t, [0, 0, 0, 0], [-1, -1, length, -1])).dataSync());
}

describe("Phi3KVCache", () => {
  it("holds what a concatenation would, across capacity growth, with one buffer per layer", () => {
    const cache = new Phi3KVCache(1);
    const parts = [seq([2, 3, 13, 4], 0), seq([2, 3, 1, 4], 1000), seq([2, 3, 1, 4], 2000), seq([2, 3, 6, 4], 3000)];
    let expected = parts[0]!;
    for (let i = 0; i < parts.length; i++) {
      const kv = cache.append(0, parts[i]!, tf.neg(parts[i]!) as tf.Tensor4D);
      if (i > 0) expected = tf.concat([expected, parts[i]!], 2) as tf.Tensor4D;
      expect(kv.length).toBe(expected.shape[2]);
      expect(cache.length).toBe(expected.shape[2]);
      expect(filled(kv.keys, kv.length)).toEqual(Array.from(expected.dataSync()));
      expect(filled(kv.values, kv.length)).toEqual(Array.from(expected.dataSync()).map((x) => -x));
      if (canWriteInPlace()) expect(kv.keys.shape[2]).toBe(kv.length <= 16 ? 16 : 32);
    }
    const before = tf.memory().numTensors;
    cache.dispose();
    expect(tf.memory().numTensors).toBe(before - 2);
    expect(() => cache.get(0)).toThrow(/disposed/);
    tf.dispose([...parts, expected]);
  });

  it("copies only the new positions in place: earlier results are unchanged, and the concat path agrees", async () => {
    const lm = new Phi3ForCausalLM(tinyConfig({ numKeyValueHeads: 2 }), { seed: 5 });
    try {
      const prompt = [[3, 8, 20, 41, 7, 9, 11, 2, 5, 6, 30, 31, 32]]; // 13 tokens: decoding crosses the 16 capacity
      const before = tf.memory().numTensors;
      const fast = await lm.generate(prompt, { maxNewTokens: 8 });
      expect(tf.memory().numTensors).toBe(before);
      // The same without fused kernels (the composition reads exact-length slices of the cache).
      setFusedKernelsEnabled(false);
      const plain = await lm.generate(prompt, { maxNewTokens: 8 });
      setFusedKernelsEnabled(true);
      const recomputed = await lm.generate(prompt, { maxNewTokens: 8, useCache: false });
      expect(fast).toEqual(plain);
      expect(fast).toEqual(recomputed);
      expect(tf.memory().numTensors).toBe(before);
    } finally {
      setFusedKernelsEnabled(true);
      lm.dispose();
    }
  });
});

afterAll(() => setFusedKernelsEnabled(process.env.BIRDVLM_FUSED_KERNELS !== "0"));
