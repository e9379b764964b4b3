import { describe, expect, it } from "vitest";
import { pixelsToImageBatch } from "./image-processing.js";

describe("pixelsToImageBatch", () => {
  const pre = { imageSize: 2, mean: [0.5, 0.25, 0] as const, std: [0.5, 0.25, 1] as const };

  it("takes the centred square of a wide RGBA photo, drops alpha and normalizes", async () => {
    // 4 x 2 RGBA: the centred 2 x 2 square is columns 1..2; at its own size the resize is the identity.
    const width = 4;
    const height = 2;
    const data = new Uint8ClampedArray(width * height * 4);
    for (let p = 0; p < width * height; p++) data.set([p * 10, 255, 0, 7], 4 * p);
    const batch = pixelsToImageBatch({ data, width, height, channels: 4 }, pre);
    expect(batch.shape).toEqual([1, 2, 2, 3]);
    const want = [1, 2, 5, 6].map((p) => [(p * 10) / 255 / 0.5 - 1, (1 - 0.25) / 0.25, 0]);
    const got = ((await batch.array()) as number[][][][])[0]!.flat();
    got.forEach((px, i) => px.forEach((v, c) => expect(v).toBeCloseTo(want[i]![c]!, 5)));
    batch.dispose();
  });

  it("takes the centred square of a tall RGB photo and resizes it bilinearly", async () => {
    // 2 x 6 RGB, a vertical ramp: the centred square is rows 2..3, each row one grey level.
    const width = 2;
    const height = 6;
    const data = new Uint8Array(width * height * 3);
    for (let y = 0; y < height; y++) data.fill(y * 40, y * width * 3, (y + 1) * width * 3);
    const one = { imageSize: 1, mean: [0, 0, 0] as const, std: [1, 1, 1] as const };
    const batch = pixelsToImageBatch({ data, width, height, channels: 3 }, one);
    // One output pixel with half-pixel centres: the mean of rows 2 and 3.
    expect((await batch.data())[0]).toBeCloseTo((80 + 120) / 2 / 255, 5);
    batch.dispose();
  });

  it("refuses pixels that do not match their size", () => {
    expect(() => pixelsToImageBatch({ data: new Uint8Array(5), width: 2, height: 1, channels: 3 }, pre)).toThrow(
      /5 bytes for 2x1x3/,
    );
  });
});
