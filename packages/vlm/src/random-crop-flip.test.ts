import { describe, expect, it } from "vitest";
import { Rng, tf } from "@birdvlm/core";
import { randomCropFlip } from "./random-crop-flip.js";

/** `[1,S,S,1]` with value 10·row + column. */
function grid(s: number): tf.Tensor4D {
  return tf.tensor4d(
    Array.from({ length: s * s }, (_, i) => 10 * Math.floor(i / s) + (i % s)),
    [1, s, s, 1],
  );
}

describe("randomCropFlip", () => {
  it("is the identity at scale 1 without flips, a mirror with flips", () => {
    const x = grid(4);
    const same = randomCropFlip({ scale: [1, 1], ratio: [1, 1], flipProbability: 0 })(x, new Rng(0));
    expect(same.arraySync()).toEqual(x.arraySync());
    const mirror = randomCropFlip({ scale: [1, 1], ratio: [1, 1], flipProbability: 1 })(x, new Rng(0));
    expect(mirror.arraySync()).toEqual(tf.reverse(x, 2).arraySync());
    tf.dispose([x, same, mirror]);
  });

  it("crops a part (values stay inside the image's range, the size is kept) and draws anew each batch", () => {
    const x = grid(8);
    const f = randomCropFlip({ scale: [0.2, 0.4], flipProbability: 0 });
    const rng = new Rng(3);
    const before = tf.memory().numTensors;
    const a = f(x, rng);
    const b = f(x, rng);
    expect(a.shape).toEqual([1, 8, 8, 1]);
    const va = a.dataSync();
    // a crop of at most 40% of the area spans at most ~sqrt(0.4·4/3) of the side: its values cover less than all rows
    const rows = new Set([...va].map((v) => Math.floor(v / 10)));
    expect(Math.max(...va) - Math.min(...va)).toBeLessThan(77);
    expect(rows.size).toBeLessThanOrEqual(8);
    expect([...va]).not.toEqual([...b.dataSync()]);
    tf.dispose([a, b]);
    expect(tf.memory().numTensors).toBe(before);
    x.dispose();
  });

  it("refuses impossible ranges", () => {
    expect(() => randomCropFlip({ scale: [0, 1] })).toThrow(/scale/);
    expect(() => randomCropFlip({ scale: [0.8, 0.5] })).toThrow(/scale/);
    expect(() => randomCropFlip({ ratio: [2, 1] })).toThrow(/ratio/);
  });
});
