import { ParameterInit, tf } from "@birdvlm/core";
import { describe, expect, it } from "vitest";
import { Embedding } from "./embedding.js";

describe("Embedding", () => {
  it("looks rows up and sums the gradient of repeated ids", () => {
    const e = new Embedding(5, 3, new ParameterInit(1, { std: 1 }));
    const ids = tf.tensor2d(
      [
        [1, 3, 1],
        [0, 1, 4],
      ],
      [2, 3],
      "int32",
    );
    const out = e.apply(ids);
    const w = e.weight.arraySync() as number[][];
    expect(out.arraySync()[0]![2]).toEqual(w[1]);
    const r = tf.randomNormal([2, 3, 3], 0, 1, "float32", 2);
    const { grads, value } = tf.variableGrads(() => tf.sum(tf.mul(e.apply(ids), r)) as tf.Scalar, [e.weight]);
    const g = grads[e.weight.name]!.arraySync() as number[][];
    const rr = r.arraySync() as number[][][];
    const expected = [0, 1, 2].map((d) => rr[0]![0]![d]! + rr[0]![2]![d]! + rr[1]![1]![d]!);
    g[1]!.forEach((v, d) => expect(v).toBeCloseTo(expected[d]!, 5));
    expect(g[2]).toEqual([0, 0, 0]);
    tf.dispose([ids, out, r, value, ...Object.values(grads)]);
    e.dispose();
  });
});
