import { describe, expect, it } from "vitest";
import { tf } from "@birdvlm/core";
import { ImageTable } from "./image-table.js";
import { gatherViews } from "./train-stage.js";

describe("gatherViews (one view of each example: box crop or whole picture)", () => {
  it("takes each image from its own view, in order, without leaking tensors", () => {
    const ids = ["a", "b", "c"];
    // view 0 holds 1, 2, 3 and view 1 holds 10, 20, 30 in every pixel of a, b, c
    const table = (scale: number) =>
      ImageTable.fromTensor(
        ids,
        tf.tidy(() =>
          tf.mul(
            tf.ones([3, 2, 2, 3]),
            tf.tensor4d(
              [1, 2, 3].map((v) => v * scale),
              [3, 1, 1, 1],
            ),
          ),
        ) as tf.Tensor4D,
      );
    const views = [table(1), table(10)];
    const before = tf.memory().numTensors;
    const mean = (t: tf.Tensor) => {
      const m = tf.mean(t, [1, 2, 3]);
      const v = Array.from(m.dataSync());
      m.dispose();
      t.dispose();
      return v;
    };
    expect(mean(gatherViews(views, ["c", "a", "b", "a"], [1, 0, 0, 1]))).toEqual([30, 1, 2, 10]);
    expect(mean(gatherViews(views, ["b", "c"], [1, 1]))).toEqual([20, 30]);
    expect(mean(gatherViews(views, ["b"], [0]))).toEqual([2]);
    expect(tf.memory().numTensors).toBe(before);
    views.forEach((v) => v.dispose());
  });
});
