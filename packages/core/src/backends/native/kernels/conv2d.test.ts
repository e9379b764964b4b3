// The native Conv2D kernels (im2col + SGEMM, col2im) against the cpu backend's: strides, paddings (same, valid,
// explicit, odd sizes), both gradients, the layouts handed back to the cpu kernel, and no leaks.
import { expect, it } from "vitest";
import { tf } from "../../../tf.js";
import { seeded } from "../../../testing/tensors.js";
import { describeEachBackend, expectCloseToCpu } from "../../../testing/backends.js";

type Pad = "same" | "valid" | tf.backend_util.ExplicitPadding;
const PAD1: Pad = [
  [0, 0],
  [1, 1],
  [1, 1],
  [0, 0],
];
const CASES: [number[], number[], number, Pad][] = [
  [[4, 16, 16, 3], [3, 3, 3, 24], 2, PAD1], // the convolutional stem's first stage
  [[2, 9, 7, 5], [3, 3, 5, 6], 2, "same"], // odd sizes, uneven padding
  [[2, 9, 7, 5], [2, 3, 5, 4], 1, "valid"],
  [[3, 8, 8, 16], [1, 1, 16, 8], 1, "valid"], // a pointwise convolution
  [[1, 12, 10, 4], [4, 4, 4, 7], 4, "valid"], // non-overlapping patches
];

describeEachBackend("native Conv2D", ["native"], () => {
  it("equals cpu for strides and paddings, forward and both gradients", async () => {
    for (const [xs, fs, stride, pad] of CASES) {
      await expectCloseToCpu("native", () => {
        const x = seeded(xs, 1) as tf.Tensor4D;
        const f = seeded(fs, 2) as tf.Tensor4D;
        const y = tf.conv2d(x, f, stride, pad);
        const dy = seeded(y.shape, 3);
        const [dx, df] = tf.grads((a: tf.Tensor, b: tf.Tensor) =>
          tf.sum(tf.mul(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, stride, pad), dy)),
        )([x, f]);
        return [y, dx!, df!];
      });
    }
  });

  it("hands dilated and NCHW convolutions to the cpu kernel, and leaks nothing", async () => {
    await expectCloseToCpu("native", () => [
      tf.conv2d(seeded([1, 9, 9, 2], 4) as tf.Tensor4D, seeded([3, 3, 2, 3], 5) as tf.Tensor4D, 1, "same", "NHWC", 2),
    ]);
    await tf.setBackend("native");
    const x = seeded([2, 16, 16, 3], 6) as tf.Tensor4D;
    const f = seeded([3, 3, 3, 8], 7) as tf.Tensor4D;
    const pool = (tf.backend() as unknown as { pool: { heldBytes: number } }).pool;
    const big = seeded([4, 32, 32, 3], 8) as tf.Tensor4D; // im2col scratch of 27,648 floats: a pooled buffer
    const conv = (a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 2, PAD1));
    const step = () => tf.dispose([tf.conv2d(x, f, 2, PAD1), ...tf.grads(conv)([x, f]), ...tf.grads(conv)([big, f])]);
    step();
    const held = pool.heldBytes; // the scratch im2col buffers go back to the pool and are reused, not piled up
    const before = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) step();
    expect(tf.memory().numTensors).toBe(before);
    expect(pool.heldBytes).toBe(held);
    tf.dispose([x, f, big]);
  });
});
