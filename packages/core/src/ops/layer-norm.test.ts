import { describe, expect, it } from "vitest";
import { tf } from "../tf.js";
import { layerNorm } from "./layer-norm.js";
import { rmsNorm } from "./rms-norm.js";
import { maxAbsDiff, seeded } from "../testing/tensors.js";

// The plain compositions the models would otherwise write (tf.moments, as PyTorch's biased variance).
const plainLayerNorm = (x: tf.Tensor, g: tf.Tensor, b: tf.Tensor, eps: number) => {
  const { mean, variance } = tf.moments(x, -1, true);
  return tf.add(tf.mul(tf.div(tf.sub(x, mean), tf.sqrt(tf.add(variance, eps))), g), b);
};
const plainRmsNorm = (x: tf.Tensor, w: tf.Tensor, eps: number) =>
  tf.mul(w, tf.div(x, tf.sqrt(tf.add(tf.mean(tf.square(x), -1, true), eps))));

describe("layerNorm", () => {
  it("equals the plain composition, values and gradients", async () => {
    const x = seeded([2, 3, 40], 1, 3);
    const g = tf.add(1, seeded([40], 2, 0.3));
    const b = seeded([40], 3, 0.5);
    const w = seeded([2, 3, 40], 4); // weights a non-trivial loss
    expect(await maxAbsDiff(layerNorm(x, g, b, 1e-6), plainLayerNorm(x, g, b, 1e-6))).toBeLessThan(2e-5);
    const loss = (f: typeof plainLayerNorm) => (xx: tf.Tensor, gg: tf.Tensor, bb: tf.Tensor) =>
      tf.sum(tf.mul(f(xx, gg, bb, 1e-6), w));
    const got = tf.grads(loss(layerNorm))([x, g, b]);
    const want = tf.grads(loss(plainLayerNorm))([x, g, b]);
    for (let i = 0; i < 3; i++) expect(await maxAbsDiff(got[i], want[i])).toBeLessThan(5e-5);
  });

  it("names the parameter whose shape is wrong", () => {
    expect(() => layerNorm(tf.zeros([2, 4]), tf.ones([3]), tf.zeros([4]))).toThrow(
      /gamma has shape \[3\], expected \[4\]/,
    );
  });

  it("leaks no tensor", () => {
    const x = seeded([4, 8], 5);
    const g = tf.ones([8]);
    const b = tf.zeros([8]);
    const step = () =>
      tf.tidy(() => {
        tf.grads((xx: tf.Tensor) => tf.sum(layerNorm(xx, g, b)))([x]);
      });
    step(); // warm-up: TF.js keeps some constants on first use
    const before = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) step();
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe("rmsNorm", () => {
  it("equals the plain composition, values and gradients", async () => {
    const x = seeded([3, 5, 32], 6, 2);
    const w = tf.add(1, seeded([32], 7, 0.2));
    const r = seeded([3, 5, 32], 8);
    expect(await maxAbsDiff(rmsNorm(x, w, 1e-5), plainRmsNorm(x, w, 1e-5))).toBeLessThan(2e-5);
    const loss = (f: typeof plainRmsNorm) => (xx: tf.Tensor, ww: tf.Tensor) => tf.sum(tf.mul(f(xx, ww, 1e-5), r));
    const got = tf.grads(loss(rmsNorm))([x, w]);
    const want = tf.grads(loss(plainRmsNorm))([x, w]);
    for (let i = 0; i < 2; i++) expect(await maxAbsDiff(got[i], want[i])).toBeLessThan(5e-5);
  });
});
