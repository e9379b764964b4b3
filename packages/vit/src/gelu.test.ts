import { describe, expect, it } from "vitest";
import { tf } from "@birdvlm/core";
import { gelu } from "./gelu.js";
import { dropPath, dropout } from "./drop.js";

describe("exact GELU", () => {
  it("equals x Φ(x) and its gradient Φ(x) + x φ(x)", () => {
    tf.tidy(() => {
      const x = tf.tensor1d([-3, -1, 0, 0.5, 1, 2]);
      // Φ from erf's values: Φ(1) = 0.8413447461, Φ(2) = 0.9772498681, Φ(0.5) = 0.6914624613, Φ(3) = 0.9986501020.
      const phi = [1 - 0.998650102, 1 - 0.8413447461, 0.5, 0.6914624613, 0.8413447461, 0.9772498681];
      const expected = [-3, -1, 0, 0.5, 1, 2].map((v, i) => v * phi[i]!);
      const got = gelu(x).arraySync() as number[];
      got.forEach((v, i) => expect(v).toBeCloseTo(expected[i]!, 6));
      const grad = tf
        .grad((t: tf.Tensor) => tf.sum(gelu(t)))(x)
        .arraySync() as number[];
      const pdf = (v: number) => Math.exp((-v * v) / 2) / Math.sqrt(2 * Math.PI);
      grad.forEach((g, i) => {
        const v = [-3, -1, 0, 0.5, 1, 2][i]!;
        expect(g).toBeCloseTo(phi[i]! + v * pdf(v), 5);
      });
    });
  });
});

describe("dropout and drop-path", () => {
  it("drop-path keeps or zeroes each sample's whole branch, scaled by 1/(1-rate)", () => {
    tf.tidy(() => {
      const x = tf.ones([400, 3, 5]);
      const y = dropPath(x, 0.25, 17);
      const perSample = tf.reshape(y, [400, 15]).arraySync() as number[][];
      for (const row of perSample) expect(new Set(row).size).toBe(1);
      const kept = perSample.filter((r) => r[0] !== 0);
      kept.forEach((r) => expect(r[0]).toBeCloseTo(1 / 0.75, 6));
      expect(kept.length / 400).toBeGreaterThan(0.65);
      expect(kept.length / 400).toBeLessThan(0.85);
      // Same seed, same mask.
      expect(tf.max(tf.abs(tf.sub(dropPath(x, 0.25, 17), y))).dataSync()[0]).toBe(0);
      expect(dropPath(x, 0, 17)).toBe(x);
    });
  });

  it("dropout zeroes single elements and keeps the mean", () => {
    tf.tidy(() => {
      const x = tf.ones([200, 50]);
      const y = dropout(x, 0.1, 3);
      const values = y.dataSync();
      const zeros = values.filter((v) => v === 0).length / values.length;
      expect(zeros).toBeGreaterThan(0.08);
      expect(zeros).toBeLessThan(0.12);
      expect(tf.mean(y).dataSync()[0]).toBeCloseTo(1, 1);
    });
  });
});
