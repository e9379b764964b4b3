import { describe, expect, it } from "vitest";
import sharp from "sharp";
import { tf } from "@birdvlm/core";
import { VisionTransformer } from "./vision-transformer.js";
import { jet, renderAttentionOverlay } from "./overlay.js";

const small = { imageSize: 32, patchSize: 8, hiddenSize: 24, depth: 2, numHeads: 2, mlpSize: 48, numClasses: 3 };

describe("attention maps", () => {
  it("gives the class token's attention per block and head, and rollout as a [B, h, w] map", () => {
    const m = new VisionTransformer(small, { seed: 4 });
    // Sharper attention than the 0.02 init gives, so rollout is not flat.
    m.namedParameters()
      .filter(([n]) => n.endsWith("attn.qkv.weight"))
      .forEach(([, v]) => v.assign(tf.mul(v, 20)));
    const x = tf.randomNormal([2, 32, 32, 3], 0, 1, "float32", 8) as tf.Tensor4D;
    const before = tf.memory().numTensors;
    const maps = m.attentionMaps(x);
    const probs = m.attentionProbabilities(x);
    const rollout = m.attentionRollout(x);
    expect(maps.shape).toEqual([2, 2, 2, 4, 4]);
    expect(probs.map((p) => p.shape)).toEqual([
      [2, 2, 17, 17],
      [2, 2, 17, 17],
    ]);
    expect(rollout.shape).toEqual([2, 4, 4]);
    tf.tidy(() => {
      // Rows of attention sum to one; the class-token map is that row without the class token's own entry.
      expect(tf.max(tf.abs(tf.sub(tf.sum(probs[0]!, -1), 1))).dataSync()[0]).toBeLessThan(1e-5);
      const own = tf.reshape(tf.slice(probs[1]!, [0, 0, 0, 0], [2, 2, 1, 1]), [2, 2]);
      const mapSum = tf.sum(tf.reshape(tf.slice(maps, [0, 1, 0, 0, 0], [2, 1, 2, 4, 4]), [2, 2, 16]), -1);
      expect(tf.max(tf.abs(tf.sub(tf.add(mapSum, own), 1))).dataSync()[0]).toBeLessThan(1e-5);
      // Rollout by hand on the host: R = Π (0.5 mean_h(A) + 0.5 I) (rows renormalized), class row, max-scaled.
      const a = probs.map((p) => p.arraySync() as number[][][][]);
      for (let b = 0; b < 2; b++) {
        let r: number[][] = Array.from({ length: 17 }, (_, i) =>
          Array.from({ length: 17 }, (_, j) => (i === j ? 1 : 0)),
        );
        for (const layer of a) {
          const mix = layer[b]![0]!.map((row, i) =>
            row.map((v, j) => 0.5 * ((v + layer[b]![1]![i]![j]!) / 2) + (i === j ? 0.5 : 0)),
          );
          r = mix.map((row) => r[0]!.map((_, j) => row.reduce((s, v, k) => s + v * r[k]![j]!, 0)));
        }
        const cls = r[0]!.slice(1);
        const max = Math.max(...cls);
        const got = (rollout.arraySync() as number[][][])[b]!.flat();
        got.forEach((v, i) => expect(v).toBeCloseTo(cls[i]! / max, 4));
      }
    });
    tf.dispose([maps, rollout, ...probs]);
    expect(tf.memory().numTensors).toBe(before);
    x.dispose();
    m.dispose();
  });

  it("renders a heat map blended over a photo as PNG", async () => {
    const photo = await sharp({
      create: { width: 40, height: 20, channels: 3, background: { r: 128, g: 128, b: 128 } },
    })
      .png()
      .toBuffer();
    const heat = [
      [0, 0, 0, 0],
      [0, 0, 0, 1],
    ];
    const png = await renderAttentionOverlay(photo, heat, { alpha: 0.5 });
    const { data, info } = await sharp(png).raw().toBuffer({ resolveWithObject: true });
    expect([info.width, info.height, info.format]).toEqual([40, 20, "raw"]);
    expect(png.subarray(1, 4).toString()).toBe("PNG");
    const pixel = (x: number, y: number) => [0, 1, 2].map((c) => data[(y * 40 + x) * info.channels + c]!);
    // Bottom-right is hot (red blended over grey), top-left is cold (blue blended over grey).
    const hot = pixel(39, 19);
    const cold = pixel(0, 0);
    expect(hot[0]).toBeGreaterThan(hot[2]!);
    expect(cold[2]).toBeGreaterThan(cold[0]!);
    expect(cold).toEqual(jet(0).map((v) => Math.round(0.5 * 128 + 0.5 * v)));
    await expect(renderAttentionOverlay(photo, [[0, 1], [1]])).rejects.toThrow(/row 1 has 1 values, expected 2/);
  });
});
