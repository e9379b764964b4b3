// The native augmentation of stored pixels against the JavaScript (`augmentInto`): the same floats to the bit, for
// crops of every kind (whole, fractional, at the edges), mirrored or not, with and without colour jitter.
import { describe, expect, it } from "vitest";
import { nativePixelOps } from "@birdvlm/core";
import { augmentBatchNative } from "./native-augment.js";
import { type CropAugmentation, augmentInto, augmentScratch } from "./uint8-augment.js";
import { IMAGENET_MEAN, IMAGENET_STD } from "./image-pipeline.js";

const ops = nativePixelOps();

function image(width: number, height: number, seed: number) {
  const data = new Uint8Array(width * height * 3);
  let s = seed;
  for (let i = 0; i < data.length; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    data[i] = s >>> 24;
  }
  return { data, width, height };
}

describe("augmentBatchNative", () => {
  // Under CI (which builds the addon) it must load; elsewhere the tests below skip without it.
  it.skipIf(!ops && !process.env.CI)("has the addon's pixel operations", () => {
    expect(ops).toBeDefined();
  });

  it.skipIf(!ops)("gives augmentInto's floats exactly", () => {
    const jitter = { brightness: 1.21, contrast: 0.74, saturation: 1.33, hue: 0.03 };
    const cases: Array<[number, number, number, CropAugmentation]> = [
      [64, 74, 90, { region: { left: 0, top: 0, width: 74, height: 90 }, flipped: false }],
      [64, 74, 90, { region: { left: 5, top: 11, width: 50, height: 61 }, flipped: true, jitter }],
      [16, 37, 23, { region: { left: 0.5, top: 2.25, width: 36.5, height: 20.75 }, flipped: false, jitter }],
      [7, 37, 23, { region: { left: 30, top: 20, width: 7, height: 3 }, flipped: true }],
      [224, 258, 230, { region: { left: 12, top: 0, width: 240, height: 230 }, flipped: true, jitter }],
    ];
    // Each size as one batch (its images over the threads), against augmentInto image by image.
    for (const size of new Set(cases.map((c) => c[0]))) {
      const batch = cases
        .map(([s, w, h, augmentation], n) => ({ s, pixels: image(w, h, 7 + n), augmentation }))
        .filter((c) => c.s === size);
      const plane = size * size * 3;
      const want = new Float32Array(batch.length * plane);
      batch.forEach((b, i) =>
        augmentInto(b.pixels, b.augmentation, size, IMAGENET_MEAN, IMAGENET_STD, want, i * plane, augmentScratch(size)),
      );
      const got = new Float32Array(batch.length * plane);
      augmentBatchNative(ops!, batch, size, IMAGENET_MEAN, IMAGENET_STD, got, new Float32Array(batch.length * plane));
      expect(Array.from(got), `size ${size}`).toEqual(Array.from(want));
    }
  });

  it.skipIf(!ops)("refuses a region outside its image, naming it", () => {
    const ok = {
      pixels: image(37, 23, 1),
      augmentation: { region: { left: 0, top: 0, width: 37, height: 23 }, flipped: false },
    };
    const bad = {
      pixels: image(37, 23, 2),
      augmentation: { region: { left: 10, top: 0, width: 30, height: 5 }, flipped: false },
    };
    const run = (nameOf?: (i: number) => string) =>
      augmentBatchNative(
        ops!,
        [ok, bad],
        8,
        IMAGENET_MEAN,
        IMAGENET_STD,
        new Float32Array(384),
        new Float32Array(384),
        nameOf,
      );
    expect(() => run()).toThrow(/^image 1: augmentInto: region .* outside the 37x23 image/);
    expect(() => run((i) => ["a.jpg", "b.jpg"][i]!)).toThrow(/^b\.jpg: augmentInto: region/);
  });
});
