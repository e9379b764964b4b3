import { describe, expect, it } from "vitest";
import { tf } from "../tf.js";
import { swiglu } from "./swiglu.js";
import { maxAbsDiff, seeded } from "../testing/tensors.js";

// Hugging Face Phi3MLP: gate, up = gate_up.chunk(2, -1); up * silu(gate).
const plain = (x: tf.Tensor) => {
  const I = x.shape[x.rank - 1] / 2;
  const gate = tf.slice(x, [0, 0, 0], [-1, -1, I]);
  const up = tf.slice(x, [0, 0, I], [-1, -1, I]);
  return tf.mul(up, tf.div(gate, tf.add(1, tf.exp(tf.neg(gate)))));
};

describe("swiglu", () => {
  it("equals the plain composition, values and gradients", async () => {
    const x = seeded([2, 5, 2 * 48], 51, 4);
    const w = seeded([2, 5, 48], 52);
    expect(await maxAbsDiff(swiglu(x), plain(x))).toBeLessThan(1e-5);
    const got = tf.grad((xx: tf.Tensor) => tf.sum(tf.mul(swiglu(xx), w)))(x);
    const want = tf.grad((xx: tf.Tensor) => tf.sum(tf.mul(plain(xx), w)))(x);
    expect(await maxAbsDiff(got, want)).toBeLessThan(2e-5);
  });

  it("rejects an odd last axis", () => {
    expect(() => swiglu(tf.zeros([2, 5]))).toThrow(/odd size 5/);
  });
});
