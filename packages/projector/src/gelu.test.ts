import { describe, expect, it } from "vitest";
import { tf } from "@birdvlm/core";
import { gelu } from "./gelu.js";

describe("gelu", () => {
  it("is the exact erf form (torch.nn.functional.gelu values)", () => {
    const y = gelu(tf.tensor1d([-3, -1, 0, 0.5, 1, 2])).dataSync();
    const ref = [-0.0040496, -0.1586553, 0, 0.3457312, 0.8413447, 1.9544997];
    ref.forEach((r, i) => expect(y[i]).toBeCloseTo(r, 5));
  });

  it("has the analytic gradient Φ(x) + x·φ(x)", () => {
    const xs = [-1.5, -0.2, 0.7, 2];
    const g = tf.grad((x: tf.Tensor) => tf.sum(gelu(x)))(tf.tensor1d(xs)).dataSync();
    xs.forEach((x, i) => {
      const cdf = 0.5 * (1 + erf(x / Math.SQRT2));
      const pdf = Math.exp(-0.5 * x * x) / Math.sqrt(2 * Math.PI);
      expect(g[i]).toBeCloseTo(cdf + x * pdf, 4);
    });
  });
});

/** Abramowitz–Stegun 7.1.26 (|error| < 1.5e-7). */
function erf(x: number): number {
  const s = Math.sign(x), a = Math.abs(x), t = 1 / (1 + 0.3275911 * a);
  const y = 1 - ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * Math.exp(-a * a);
  return s * y;
}
