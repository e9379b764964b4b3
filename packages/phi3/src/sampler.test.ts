import { describe, expect, it } from "vitest";
import { TokenSampler } from "./sampler.js";

function frequencies(sampler: TokenSampler, logits: number[], n: number): number[] {
  const counts = new Array<number>(logits.length).fill(0);
  for (let i = 0; i < n; i++) counts[sampler.sample(logits)]!++;
  return counts.map((c) => c / n);
}

describe("TokenSampler", () => {
  const logits = [Math.log(0.5), Math.log(0.3), Math.log(0.15), Math.log(0.05)];

  it("draws with the softmax probabilities", () => {
    const f = frequencies(new TokenSampler({ seed: 1 }), logits, 20000);
    [0.5, 0.3, 0.15, 0.05].forEach((p, i) => expect(f[i]!).toBeCloseTo(p, 1));
  });

  it("top-k keeps the k likeliest, top-p the smallest set reaching p (as transformers)", () => {
    const k2 = frequencies(new TokenSampler({ seed: 2, topK: 2 }), logits, 20000);
    expect(k2[2]).toBe(0);
    expect(k2[0]!).toBeCloseTo(0.5 / 0.8, 1);
    const p = frequencies(new TokenSampler({ seed: 3, topP: 0.75 }), logits, 20000);
    expect(p[2]).toBe(0);
    expect(p[3]).toBe(0);
    const p85 = frequencies(new TokenSampler({ seed: 3, topP: 0.85 }), logits, 20000);
    expect(p85[2]!).toBeGreaterThan(0);
    expect(p85[3]).toBe(0);
  });

  it("temperature sharpens the distribution", () => {
    const cold = frequencies(new TokenSampler({ seed: 4, temperature: 0.1 }), logits, 2000);
    expect(cold[0]!).toBeGreaterThan(0.99);
  });
});
