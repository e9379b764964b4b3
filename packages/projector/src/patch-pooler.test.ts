import { describe, expect, it } from "vitest";
import { tf, type VisionFeatures } from "@birdvlm/core";
import { PatchPooler } from "./patch-pooler.js";
import { resolveProjectorConfig } from "./config.js";

function features(b: number, rows: number, cols: number, d: number): VisionFeatures {
  const patches = tf.randomNormal([b, rows * cols, d], 0, 1, "float32", 3) as tf.Tensor3D;
  const cls = tf.randomNormal([b, d], 0, 1, "float32", 4) as tf.Tensor2D;
  return {
    patches,
    cls,
    lastHiddenState: tf.concat([tf.expandDims(cls, 1), patches], 1) as tf.Tensor3D,
    grid: [rows, cols],
  };
}

describe("PatchPooler", () => {
  it("average-pools 14×14 to 7×7 = 49 tokens, each the mean of its 2×2 window", () => {
    const f = features(2, 14, 14, 3);
    const pooler = new PatchPooler({ mode: "avg" });
    expect(pooler.tokenCount([14, 14])).toBe(49);
    const y = pooler.forward(f);
    expect(y.shape).toEqual([2, 49, 3]);
    const x = f.patches.arraySync();
    const out = y.arraySync();
    for (const [b, i, j, c] of [
      [0, 0, 0, 0],
      [1, 3, 5, 2],
      [1, 6, 6, 1],
    ] as const) {
      const at = (r: number, q: number) => x[b]![r * 14 + q]![c]!;
      const mean = (at(2 * i, 2 * j) + at(2 * i, 2 * j + 1) + at(2 * i + 1, 2 * j) + at(2 * i + 1, 2 * j + 1)) / 4;
      expect(out[b]![i * 7 + j]![c]).toBeCloseTo(mean, 5);
    }
    pooler.dispose();
  });

  it("withPooled puts the encoder's pooled embedding (what its head reads) first, not its class token", () => {
    const f = { ...features(2, 4, 4, 3), pooled: tf.randomNormal([2, 3], 0, 1, "float32", 5) as tf.Tensor2D };
    const pooler = new PatchPooler({ mode: "avg", outputGrid: [2, 2], withPooled: true });
    expect(pooler.tokenCount([4, 4])).toBe(5);
    const y = pooler.forward(f);
    expect(Array.from(tf.slice(y, [0, 0, 0], [2, 1, 3]).dataSync())).toEqual(Array.from(f.pooled.dataSync()));
    expect(() => pooler.forward({ ...f, pooled: undefined })).toThrow(/withPooled needs features.pooled/);
    expect(() =>
      resolveProjectorConfig("mlp", { inputDim: 3, outputDim: 4, pooling: { mode: "cls", withPooled: true } }),
    ).toThrow(/withPooled adds the pooled embedding to avg or all pooling/);
    tf.dispose([y, f.pooled]);
    pooler.dispose();
  });

  it("withCls puts the class token first, then the pooled patches", () => {
    const f = features(2, 4, 4, 3);
    const pooler = new PatchPooler({ mode: "avg", outputGrid: [2, 2], withCls: true });
    expect(pooler.tokenCount([4, 4])).toBe(5);
    const y = pooler.forward(f);
    expect(y.shape).toEqual([2, 5, 3]);
    const plain = new PatchPooler({ mode: "avg", outputGrid: [2, 2] }).forward(f);
    expect(Array.from(tf.slice(y, [0, 0, 0], [2, 1, 3]).dataSync())).toEqual(Array.from(f.cls!.dataSync()));
    expect(Array.from(tf.slice(y, [0, 1, 0], [2, 4, 3]).dataSync())).toEqual(Array.from(plain.dataSync()));
    expect(new PatchPooler({ mode: "all", withCls: true }).tokenCount([4, 4])).toBe(17);
    expect(() => pooler.forward({ ...f, cls: undefined })).toThrow(/withCls needs features.cls/);
    pooler.dispose();
  });

  it("pools adaptively like AdaptiveAvgPool2d when the grid does not divide (5×5 → 2×2)", () => {
    const x = tf.reshape(tf.range(0, 25), [1, 25, 1]) as tf.Tensor3D;
    const pooler = new PatchPooler({ mode: "avg", outputGrid: [2, 2] });
    const y = pooler.forward({ patches: x, lastHiddenState: x, grid: [5, 5] }).dataSync();
    // windows rows/cols [0,3) and [2,5): top-left mean of {0,1,2,5,6,7,10,11,12} = 6
    expect(Array.from(y)).toEqual([6, 8, 16, 18].map((v) => expect.closeTo(v, 5)));
    pooler.dispose();
  });

  it("keeps all patches, or the class token alone", () => {
    const f = features(2, 4, 4, 5);
    expect(new PatchPooler({ mode: "all" }).forward(f).shape).toEqual([2, 16, 5]);
    const cls = new PatchPooler({ mode: "cls" });
    expect(cls.tokenCount([4, 4])).toBe(1);
    const y = cls.forward(f);
    expect(y.shape).toEqual([2, 1, 5]);
    expect(maxDiff(tf.squeeze(y, [1]), f.cls!)).toBe(0);
  });

  it("says what is wrong with a grid it cannot pool", () => {
    const f = features(1, 4, 4, 2);
    expect(() => new PatchPooler({ mode: "avg", outputGrid: [7, 7] }).forward(f)).toThrow(
      /cannot average-pool a \[4,4\] patch grid to \[7,7\]/,
    );
    expect(() => new PatchPooler({ mode: "cls" }).forward({ ...f, cls: undefined })).toThrow(/needs features.cls/);
  });

  it("leaks no tensors", () => {
    const f = features(1, 14, 14, 4);
    const pooler = new PatchPooler();
    pooler.forward(f).dispose();
    const before = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) pooler.forward(f).dispose();
    expect(tf.memory().numTensors).toBe(before);
  });
});

function maxDiff(a: tf.Tensor, b: tf.Tensor): number {
  return tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]!;
}
