// bf16Gather against tf.gather on the widened table: the native kernel (odd and even row widths, so rows start
// mid-pair too) and the fallback on the cpu backend; an id out of range is an error naming it.
import { expect, it } from "vitest";
import { tf } from "../tf.js";
import { Bf16Weight } from "./bf16-matmul.js";
import { BF16_GATHER_KERNEL, bf16Gather } from "./bf16-gather.js";
import { seeded } from "../testing/tensors.js";
import { describeEachBackend } from "../testing/backends.js";

function check(vocab: number, dim: number): void {
  const table = Bf16Weight.fromTensor(seeded([vocab, dim], vocab + dim) as tf.Tensor2D);
  const wide = table.toFloat32();
  const ids = tf.tensor2d(
    [
      [0, vocab - 1, 3],
      [vocab - 1, 1, 2],
    ],
    [2, 3],
    "int32",
  );
  bf16Gather(table, ids).dispose(); // the fallback's float32 copy is made (and kept) on first use
  const before = tf.memory().numTensors;
  const got = bf16Gather(table, ids);
  expect(tf.memory().numTensors).toBe(before + 1);
  const want = tf.gather(wide, ids);
  expect(got.shape).toEqual([2, 3, dim]);
  expect(Array.from(got.dataSync())).toEqual(Array.from(want.dataSync()));
  tf.dispose([wide, ids, got, want]);
  table.dispose();
}

describeEachBackend("bf16Gather on native", ["native"], () => {
  it("equals tf.gather on the widened table (odd and even widths)", () => {
    expect(tf.getKernel(BF16_GATHER_KERNEL, tf.getBackend())).toBeDefined();
    check(7, 5);
    check(300, 48);
  });

  it("names an id out of range", () => {
    const table = Bf16Weight.fromFloat32(new Float32Array(12), [4, 3]);
    const ids = tf.tensor1d([1, 4], "int32");
    expect(() => bf16Gather(table, ids)).toThrow(/row 4 out of range \[0, 4\)/);
    ids.dispose();
    table.dispose();
  });
});

describeEachBackend("bf16Gather fallback (cpu backend)", ["cpu"], () => {
  it("equals tf.gather on the widened table", () => check(9, 6));
});
