import { describe, expect, it } from "vitest";
import { tf } from "@birdvlm/core";
import { MlpProjector } from "@birdvlm/projector";
import { initProjectorFromHead } from "./projector-init.js";

describe("initProjectorFromHead", () => {
  it("copies the head into the first C units of linear_1 and keeps the rest", () => {
    const p = new MlpProjector({ inputDim: 4, hiddenDim: 5, outputDim: 2, seed: 1 });
    const before = p.linear1.weight.arraySync() as number[][];
    const head = { weight: tf.tensor2d([...Array(12).keys()], [4, 3]), bias: tf.tensor1d([7, 8, 9]) };
    initProjectorFromHead(p, head);
    const w = p.linear1.weight.arraySync() as number[][];
    expect(w.map((r) => r.slice(0, 3))).toEqual(head.weight.arraySync());
    expect(w.map((r) => r.slice(3))).toEqual(before.map((r) => r.slice(3)));
    expect(Array.from(p.linear1.bias!.dataSync()).slice(0, 3)).toEqual([7, 8, 9]);
    expect(() => initProjectorFromHead(p, { weight: tf.zeros([4, 6]) })).toThrow(/5 units, fewer than the head's 6/);
    expect(() => initProjectorFromHead(p, { weight: tf.zeros([3, 2]) })).toThrow(/reads width 3/);
    p.dispose();
  });
});
