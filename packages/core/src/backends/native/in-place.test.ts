import { describe, expect, it } from "vitest";
import { tf } from "../../tf.js";
import { canWriteInPlace, exclusiveZeros, writePositionsInPlace } from "./in-place.js";

describe("writePositionsInPlace", () => {
  it("writes positions of every (batch, head) into an exclusive buffer, touching nothing else", async () => {
    // cpu, and the active backend when it keeps tensors in host memory (native).
    for (const backend of canWriteInPlace() ? ["cpu", tf.getBackend()] : ["cpu"]) {
      const previous = tf.getBackend();
      await tf.setBackend(backend);
      expect(canWriteInPlace()).toBe(true);
      const target = exclusiveZeros([2, 3, 5, 2]) as tf.Tensor4D;
      const view = tf.reshape(target, [30, 2]); // shares the buffer, as the cache's readers do
      const source = tf.tensor(
        Float32Array.from({ length: 2 * 3 * 4 * 2 }, (_, i) => i + 1),
        [2, 3, 4, 2],
      ) as tf.Tensor4D;
      expect(writePositionsInPlace(target, source, 2, 3)).toBe(true);
      const got = target.arraySync() as number[][][][];
      const src = source.arraySync() as number[][][][];
      for (let b = 0; b < 2; b++)
        for (let h = 0; h < 3; h++)
          for (let p = 0; p < 5; p++) expect(got[b]![h]![p]).toEqual(p >= 2 ? src[b]![h]![p - 2] : [0, 0]);
      expect(view.dataSync()[2 * 2]).toBe(src[0]![0]![0]![0]);
      expect(() => writePositionsInPlace(target, source, 3, 3)).toThrow(/do not fit/);
      const wrongHeads = tf.zeros([2, 2, 1, 2]) as tf.Tensor4D;
      expect(() => writePositionsInPlace(target, wrongHeads, 0)).toThrow(/does not match/);
      tf.dispose([target, view, source, wrongHeads]);
      await tf.setBackend(previous);
    }
  });
});
