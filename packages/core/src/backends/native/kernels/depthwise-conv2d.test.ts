// The native depthwise convolution against the cpu backend's: strides, paddings, odd sizes, both gradients, the
// cases handed back to the cpu kernel (channel multiplier 2, dilation), and no leaks.
import { expect, it, vi } from "vitest";
import { tf } from "../../../tf.js";
import { seeded } from "../../../testing/tensors.js";
import { describeEachBackend, expectCloseToCpu } from "../../../testing/backends.js";
import { loadAddon } from "../addon.js";

type Pad = "same" | "valid";
const CASES: [number[], number[], number, Pad][] = [
  [[3, 12, 12, 40], [3, 3, 40, 1], 1, "same"], // a ConvFFN's 3 x 3 over a token grid (channels not a multiple of 16)
  [[2, 9, 7, 5], [3, 3, 5, 1], 2, "same"], // odd sizes, uneven padding
  [[2, 9, 7, 6], [2, 3, 6, 1], 1, "valid"],
  [[1, 8, 8, 20], [5, 5, 20, 1], 1, "same"],
];

describeEachBackend("native DepthwiseConv2dNative", ["native"], () => {
  it("equals cpu for strides and paddings, forward and both gradients, on the addon's kernels", async () => {
    const addon = loadAddon();
    const calls = (["depthwiseConv", "depthwiseConvGradInput", "depthwiseConvGradFilter"] as const).map((name) =>
      vi.spyOn(addon, name),
    );
    for (const [xs, fs, stride, pad] of CASES) {
      await expectCloseToCpu("native", () => {
        const x = seeded(xs, 1) as tf.Tensor4D;
        const f = seeded(fs, 2) as tf.Tensor4D;
        const y = tf.depthwiseConv2d(x, f, stride, pad);
        const dy = seeded(y.shape, 3);
        const [dx, df] = tf.grads((a: tf.Tensor, b: tf.Tensor) =>
          tf.sum(tf.mul(tf.depthwiseConv2d(a as tf.Tensor4D, b as tf.Tensor4D, stride, pad), dy)),
        )([x, f]);
        return [y, dx!, df!];
      });
    }
    // Every case ran on the addon, not on the cpu kernel the wrapper hands unhandled cases to: the forward twice
    // (y, and again inside tf.grads), each gradient once.
    calls.forEach((spy, i) => {
      expect(spy).toHaveBeenCalledTimes((i === 0 ? 2 : 1) * CASES.length);
      spy.mockRestore();
    });
  });

  it("hands multiplier-2 and dilated convolutions to the cpu kernel, and leaks nothing", async () => {
    await expectCloseToCpu("native", () => [
      tf.depthwiseConv2d(seeded([1, 9, 9, 3], 4) as tf.Tensor4D, seeded([3, 3, 3, 2], 5) as tf.Tensor4D, 1, "same"),
      tf.depthwiseConv2d(
        seeded([1, 9, 9, 3], 4) as tf.Tensor4D,
        seeded([3, 3, 3, 1], 5) as tf.Tensor4D,
        1,
        "same",
        "NHWC",
        2,
      ),
    ]);
    await tf.setBackend("native");
    const x = seeded([4, 12, 12, 24], 6) as tf.Tensor4D;
    const f = seeded([3, 3, 24, 1], 7) as tf.Tensor4D;
    const conv = (a: tf.Tensor, b: tf.Tensor) =>
      tf.sum(tf.depthwiseConv2d(a as tf.Tensor4D, b as tf.Tensor4D, 1, "same"));
    const step = () => tf.dispose([tf.depthwiseConv2d(x, f, 1, "same"), ...tf.grads(conv)([x, f])]);
    step();
    const before = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) step();
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([x, f]);
  });
});
