// The native Concat and Pack kernels (block copies) against the cpu backend's, every axis, odd sizes, empty
// inputs, and the inputs they hand back to the cpu kernel (int32, short runs).
import { expect, it } from "vitest";
import { tf } from "../../../tf.js";
import { seeded } from "../../../testing/tensors.js";
import { describeEachBackend, valuesOn } from "../../../testing/backends.js";

async function same(fn: () => tf.Tensor[]): Promise<void> {
  const want = await valuesOn("cpu", fn);
  const got = await valuesOn("native", fn);
  expect(got.map((g) => g.shape)).toEqual(want.map((w) => w.shape));
  got.forEach((g, i) => expect(Array.from(g.values)).toEqual(Array.from(want[i]!.values)));
}

describeEachBackend("native Concat and Pack", ["native"], () => {
  it("concat equals cpu on every axis (the ViT's class token, odd sizes, empty parts)", async () => {
    await same(() => [
      tf.concat([seeded([32, 1, 192], 1), seeded([32, 64, 192], 2)], 1),
      tf.concat([seeded([3, 5, 70], 3), seeded([3, 5, 33], 4), seeded([3, 5, 40], 5)], -1),
      tf.concat([seeded([2, 7, 9, 40], 6), seeded([3, 7, 9, 40], 7)], 0),
      tf.concat([seeded([4, 0, 50], 8), seeded([4, 3, 50], 9)], 1),
      tf.concat([seeded([5, 3], 10), seeded([5, 4], 11)], 1), // short runs: the cpu kernel
      tf.concat([tf.tensor1d([1, 2, 3], "int32"), tf.tensor1d([4], "int32")]),
      tf.concat([seeded([1000], 12)]),
    ]);
  });

  it("stack equals cpu on every axis (attention's dq, dk, dv)", async () => {
    const parts = (shape: number[], seed: number) => [0, 1, 2].map((i) => seeded(shape, seed + i));
    await same(() => [
      tf.stack(parts([96, 65, 64], 20), 0),
      tf.stack(parts([6, 65, 64], 30), 1),
      tf.stack(parts([6, 5, 64], 40), -1),
      tf.stack(parts([1000], 50), 1), // runs of one float: the cpu kernel
      tf.stack([tf.tensor1d([1, 2], "int32"), tf.tensor1d([3, 4], "int32")]),
    ]);
  });

  it("gradients through concat and stack match, and leak nothing", async () => {
    await same(() =>
      tf.grads((a: tf.Tensor, b: tf.Tensor) =>
        tf.sum(tf.mul(tf.stack([tf.concat([a, b], 1), tf.concat([b, a], 1)]), 3)),
      )([seeded([4, 40], 60), seeded([4, 40], 61)]),
    );
    await tf.setBackend("native");
    const a = seeded([8, 64], 62);
    const before = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) tf.dispose([tf.concat([a, a], 0), tf.stack([a, a], 1)]);
    expect(tf.memory().numTensors).toBe(before);
    a.dispose();
  });
});
