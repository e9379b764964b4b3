import { describe, expect, it } from "vitest";
import { tf } from "../tf.js";
import { biasActivation, gelu, silu, type Activation } from "./bias-activation.js";
import { maxAbsDiff, seeded } from "../testing/tensors.js";

// Plain compositions: PyTorch's definitions of GELU (erf and tanh) and SiLU.
const plain: Record<Activation, (z: tf.Tensor) => tf.Tensor> = {
  gelu: (z) => tf.mul(z, tf.mul(0.5, tf.add(1, tf.erf(tf.div(z, Math.SQRT2))))),
  gelu_tanh: (z) =>
    tf.mul(
      tf.mul(0.5, z),
      tf.add(1, tf.tanh(tf.mul(Math.sqrt(2 / Math.PI), tf.add(z, tf.mul(0.044715, tf.mul(z, tf.mul(z, z))))))),
    ),
  silu: (z) => tf.div(z, tf.add(1, tf.exp(tf.neg(z)))),
};

describe("biasActivation", () => {
  for (const act of ["gelu", "gelu_tanh", "silu"] as const) {
    it(`${act}(x + b) equals the plain composition, values and gradients`, async () => {
      const x = seeded([3, 7, 24], 11, 4);
      const b = seeded([24], 12);
      const w = seeded([3, 7, 24], 13);
      expect(await maxAbsDiff(biasActivation(x, b, act), plain[act](tf.add(x, b)))).toBeLessThan(2e-6 * 4);
      const got = tf.grads((xx: tf.Tensor, bb: tf.Tensor) => tf.sum(tf.mul(biasActivation(xx, bb, act), w)))([x, b]);
      const want = tf.grads((xx: tf.Tensor, bb: tf.Tensor) => tf.sum(tf.mul(plain[act](tf.add(xx, bb)), w)))([x, b]);
      expect(await maxAbsDiff(got[0], want[0])).toBeLessThan(2e-5);
      expect(await maxAbsDiff(got[1], want[1])).toBeLessThan(1e-4);
      const noBias = tf.grad((xx: tf.Tensor) => tf.sum(tf.mul(biasActivation(xx, null, act), w)))(x);
      const noBiasWant = tf.grad((xx: tf.Tensor) => tf.sum(tf.mul(plain[act](xx), w)))(x);
      expect(await maxAbsDiff(noBias, noBiasWant)).toBeLessThan(2e-5);
    });
  }

  it("gelu and silu are the named forms", async () => {
    const x = seeded([5, 6], 14, 3);
    const b = seeded([6], 15);
    expect(await maxAbsDiff(gelu(x, { bias: b }), biasActivation(x, b, "gelu"))).toBe(0);
    expect(await maxAbsDiff(gelu(x, { approximate: "tanh" }), biasActivation(x, null, "gelu_tanh"))).toBe(0);
    expect(await maxAbsDiff(silu(x), biasActivation(x, null, "silu"))).toBe(0);
  });

  it("rejects a bias of the wrong length", () => {
    expect(() => biasActivation(tf.zeros([2, 4]), tf.zeros([5]), "gelu")).toThrow(
      /bias has shape \[5\], expected \[4\]/,
    );
  });
});

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
