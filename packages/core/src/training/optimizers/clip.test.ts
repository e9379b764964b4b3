import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { clipByGlobalNorm, tf } from "../../index.js";
import { sharedPath } from "../../../../../testing/shared.js";

const goldenPath = sharedPath("goldens/training.json");

describe.skipIf(!goldenPath)("clipByGlobalNorm against goldens/training.json", () => {
  it("returns the norm and the clipped gradients of clip_grad_norm_ to 1e-6", () => {
    const g = (
      JSON.parse(readFileSync(goldenPath!, "utf8")) as {
        clip_global_norm: { global_norm: number; clipped: [number[], number[][]] };
      }
    ).clip_global_norm;
    const grads = { a: tf.tensor1d([3, 4]), b: tf.tensor2d([[12]]) };
    const { grads: clipped, norm } = clipByGlobalNorm(grads, 6.5);
    expect(Math.abs(norm.dataSync()[0]! - g.global_norm)).toBeLessThan(1e-6);
    Array.from(clipped.a!.dataSync()).forEach((x, i) => expect(Math.abs(x - g.clipped[0][i]!)).toBeLessThan(1e-6));
    expect(clipped.b!.shape).toEqual([1, 1]);
    expect(Math.abs(clipped.b!.dataSync()[0]! - g.clipped[1][0]![0]!)).toBeLessThan(1e-6);
    [grads.a, grads.b, clipped.a!, clipped.b!, norm].forEach((t) => t.dispose());
  });
});

describe("clipByGlobalNorm", () => {
  it("leaves gradients under the limit unchanged and leaks nothing", () => {
    const grads = { a: tf.tensor1d([0.3, 0.4]) };
    const before = tf.memory().numTensors;
    const { grads: c, norm } = clipByGlobalNorm(grads, 1);
    expect(tf.memory().numTensors).toBe(before + 2);
    expect(Array.from(c.a!.dataSync())).toEqual(Array.from(grads.a.dataSync()));
    expect(norm.dataSync()[0]).toBeCloseTo(0.5, 6);
    [grads.a, c.a!, norm].forEach((t) => t.dispose());
  });

  it("propagates a non-finite norm and rejects a bad maxNorm", () => {
    const grads = { a: tf.tensor1d([NaN, 1]) };
    const { grads: c, norm } = clipByGlobalNorm(grads, 1);
    expect(Number.isNaN(norm.dataSync()[0])).toBe(true);
    [grads.a, c.a!, norm].forEach((t) => t.dispose());
    expect(() => clipByGlobalNorm({}, 1)).toThrow(/no gradients/);
    const one = tf.scalar(1);
    expect(() => clipByGlobalNorm({ a: one }, 0)).toThrow(/maxNorm/);
    one.dispose();
  });
});
