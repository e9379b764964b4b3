import { describe, expect, it } from "vitest";
import { GradientAccumulator, disposeTensors, tf, type NamedTensors } from "../../index.js";

function gradsOf(w: tf.Variable, x: tf.Tensor, y: tf.Tensor): NamedTensors {
  const { grads, value } = tf.variableGrads(() => tf.mean(tf.square(tf.sub(tf.matMul(x, w), y))) as tf.Scalar, [w]);
  value.dispose();
  return { w: grads[w.name]! };
}

describe("GradientAccumulator", () => {
  it("averages micro-batch gradients into the full-batch gradient", () => {
    const w = tf.variable(tf.tensor2d([[0.5], [-1]]));
    const x = tf.tensor2d([
      [1, 2],
      [3, 4],
      [5, 6],
      [7, 8],
    ]);
    const y = tf.tensor2d([[1], [0], [2], [1]]);
    const full = gradsOf(w, x, y);
    const acc = new GradientAccumulator();
    const before = tf.memory().numTensors;
    for (let i = 0; i < 4; i += 2) {
      const xs = tf.slice(x, [i, 0], [2, 2]);
      const ys = tf.slice(y, [i, 0], [2, 1]);
      acc.add(gradsOf(w, xs, ys), { dispose: true });
      xs.dispose();
      ys.dispose();
    }
    expect(acc.count).toBe(2);
    const avg = acc.mean();
    expect(acc.count).toBe(0);
    expect(tf.memory().numTensors).toBe(before + 1);
    Array.from(avg.w!.dataSync()).forEach((v, i) => expect(Math.abs(v - full.w!.dataSync()[i]!)).toBeLessThan(1e-5));
    disposeTensors(avg);
    disposeTensors(full);
    [w, x, y].forEach((t) => t.dispose());
  });

  it("rejects a shape change and an empty mean", () => {
    const acc = new GradientAccumulator();
    expect(() => acc.mean()).toThrow(/nothing/);
    const a = { g: tf.zeros([2]) };
    const b = { g: tf.zeros([3]) };
    acc.add(a);
    expect(() => acc.add(b)).toThrow(/'g' has shape \[3\]/);
    acc.reset();
    disposeTensors(a);
    disposeTensors(b);
  });
});
