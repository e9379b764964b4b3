import { describe, expect, it } from "vitest";
import { tf } from "@birdvlm/core";
import { dropPath, dropout } from "./drop.js";

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
