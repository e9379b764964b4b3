// The native PadV2 kernel (a fill and block copies) against the cpu backend's: every axis padded, odd sizes, a
// constant, the class token's slice gradient, and the inputs it hands back to the cpu kernel (short runs, int32).
import { expect, it } from "vitest";
import { tf } from "../../../tf.js";
import { seeded } from "../../../testing/tensors.js";
import { describeEachBackend, valuesOn } from "../../../testing/backends.js";

describeEachBackend("native PadV2", ["native"], () => {
  it("equals cpu", async () => {
    const run = () => [
      tf.pad(seeded([32, 1, 192], 1), [
        [0, 0],
        [0, 64],
        [0, 0],
      ]),
      tf.pad(
        seeded([3, 5, 7, 17], 2),
        [
          [1, 2],
          [0, 3],
          [2, 0],
          [4, 5],
        ],
        -1.5,
      ),
      tf.pad(seeded([40], 3), [[3, 1]]),
      tf.pad(seeded([2, 0, 20], 4), [
        [1, 0],
        [0, 2],
        [0, 0],
      ]),
      tf.pad(seeded([6, 5], 5), [
        [1, 1],
        [2, 2],
      ]), // runs of 5: the cpu kernel
      tf.pad(tf.tensor2d([1, 2, 3, 4], [2, 2], "int32"), [
        [0, 1],
        [1, 0],
      ]),
      tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.slice(t, [0, 0, 0], [32, 1, 192]), 3)))(seeded([32, 65, 192], 6)),
    ];
    const want = await valuesOn("cpu", run);
    const got = await valuesOn("native", run);
    expect(got.map((g) => g.shape)).toEqual(want.map((w) => w.shape));
    got.forEach((g, i) => expect(Array.from(g.values), `output ${i}`).toEqual(Array.from(want[i]!.values)));
  });
});
