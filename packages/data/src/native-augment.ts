import type { NativePixelOps } from "@birdvlm/core";
import { colorJitterTransform } from "./color-jitter.js";
import type { CropAugmentation, RgbPixels } from "./uint8-augment.js";

/** A batch's worth of {@link augmentInto}'s inputs: each image's stored pixels and its drawn augmentation. */
export interface PixelsToAugment {
  pixels: RgbPixels;
  augmentation: CropAugmentation;
}

/**
 * {@link augmentInto} for a batch, on the native addon's pixel operations (`nativePixelOps()` of `@birdvlm/core`):
 * the same floats to the bit, the images spread over the addon's threads. Image i goes to `out` at `i · size² · 3`.
 * The colour jitter's matrices are made here, from the crops' mean luma that the resampling returns. `scratch`
 * holds at least `n · size² · 3` floats. A region outside its image throws, naming it by `names[i]` (else its index).
 */
export function augmentBatchNative(
  ops: NativePixelOps,
  batch: readonly PixelsToAugment[],
  size: number,
  mean: readonly [number, number, number],
  std: readonly [number, number, number],
  out: Float32Array,
  scratch: Float32Array,
  names?: readonly string[],
): void {
  const n = batch.length;
  const sizes = new Int32Array(2 * n);
  const regions = new Float64Array(4 * n);
  batch.forEach(({ pixels: { width: W, height: H }, augmentation: { region } }, i) => {
    const { left, top, width: rw, height: rh } = region;
    if (rw <= 0 || rh <= 0 || left < 0 || top < 0 || left + rw > W || top + rh > H)
      throw new Error(`${names?.[i] ?? `image ${i}`}: region ${JSON.stringify(region)} is outside the ${W}x${H} image`);
    sizes.set([W, H], 2 * i);
    regions.set([left, top, rw, rh], 4 * i);
  });
  const lumas = new Float64Array(n);
  ops.resampleCrops(
    batch.map((b) => b.pixels.data),
    sizes,
    regions,
    size,
    scratch,
    lumas,
  );
  const k = 1 / 255;
  const params = new Float64Array(18 * n);
  const flags = new Uint8Array(n);
  batch.forEach(({ augmentation: { jitter, flipped } }, i) => {
    const p = params.subarray(18 * i, 18 * i + 18);
    if (jitter) {
      const t = colorJitterTransform(jitter, lumas[i]! / (255 * size * size));
      for (let j = 0; j < 9; j++) p[j] = t.matrix[j]! * k;
      for (let j = 0; j < 3; j++) p[9 + j] = t.offset[j]!;
    } else {
      p[0] = p[4] = p[8] = k;
    }
    for (let j = 0; j < 3; j++) {
      p[12 + j] = mean[j]!;
      p[15 + j] = 1 / std[j]!;
    }
    flags[i] = (jitter ? 1 : 0) | (flipped ? 2 : 0);
  });
  ops.normalizeBatch(scratch, size, params, flags, out);
}
