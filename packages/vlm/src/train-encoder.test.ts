import { describe, expect, it } from "vitest";
import { VisionTransformer } from "@birdvlm/vit";
import { colourImages } from "./testing/tiny-parts.js";
import { classifierAccuracy, trainEncoderClassifier } from "./train-encoder.js";

describe("trainEncoderClassifier", () => {
  it("teaches a tiny ViT three colours", async () => {
    const vit = new VisionTransformer(
      {
        imageSize: 16,
        patchSize: 4,
        hiddenSize: 16,
        depth: 1,
        numHeads: 2,
        mlpSize: 32,
        numClasses: 3,
        pooling: "mean",
      },
      { seed: 0 },
    );
    const images = colourImages(24, [
      [1, 0, 0],
      [0, 0, 1],
      [0, 1, 0],
    ]);
    const ids = images.ids;
    const labels = ids.map((_, i) => i % 3);
    const losses = await trainEncoderClassifier(vit, { images, ids, labels, epochs: 8, batchSize: 12, lr: 1e-2 });
    expect(losses.length).toBe(16);
    expect(losses.at(-1)!).toBeLessThan(losses[0]!);
    expect(await classifierAccuracy(vit, images, ids, labels)).toBe(1);
    images.dispose();
    vit.dispose();
  });
});
