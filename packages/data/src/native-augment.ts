import type { NativePixelOps } from "@birdvlm/core";
import {
  type CropAugmentation,
  type RgbPixels,
  NORMALIZATION_PARAMS,
  checkCropRegion,
  normalizationParams,
} from "./uint8-augment.js";

/** A batch's worth of {@link augmentInto}'s inputs: each image's stored pixels and its drawn augmentation. */
export interface PixelsToAugment {
  pixels: RgbPixels;
  augmentation: CropAugmentation;
}

/**
 * {@link augmentInto} for a batch, on the native addon's pixel operations (`nativePixelOps()` of `@birdvlm/core`):
 * the same floats to the bit, the images spread over the addon's threads. Image i goes to `out` at `i · size² · 3`.
 * The colour jitter's matrices are made here ({@link normalizationParams}), from the crops' mean luma that the
 * resampling returns. `scratch` holds at least `n · size² · 3` floats. A region outside its image throws, the message
 * prefixed with `nameOf(i)` (default `image i`).
 */
export function augmentBatchNative(
  ops: NativePixelOps,
  batch: readonly PixelsToAugment[],
  size: number,
  mean: readonly [number, number, number],
  std: readonly [number, number, number],
  out: Float32Array,
  scratch: Float32Array,
  nameOf: (i: number) => string = (i) => `image ${i}`,
): void {
  const n = batch.length;
  const sizes = new Int32Array(2 * n);
  const regions = new Float64Array(4 * n);
  batch.forEach(({ pixels: { width: W, height: H }, augmentation: { region } }, i) => {
    try {
      checkCropRegion(region, W, H);
    } catch (e) {
      throw new Error(`${nameOf(i)}: ${(e as Error).message}`);
    }
    sizes.set([W, H], 2 * i);
    regions.set([region.left, region.top, region.width, region.height], 4 * i);
  });
  const lumas = new Float64Array(n);
  const images = batch.map((b) => b.pixels.data);
  ops.resampleCrops(images, sizes, regions, size, scratch, lumas);
  const params = new Float64Array(NORMALIZATION_PARAMS * n);
  const flags = new Uint8Array(n);
  batch.forEach(({ augmentation }, i) => {
    const p = params.subarray(NORMALIZATION_PARAMS * i, NORMALIZATION_PARAMS * (i + 1));
    const clamp = normalizationParams(augmentation, lumas[i]! / (255 * size * size), mean, std, p);
    flags[i] = (clamp ? 1 : 0) | (augmentation.flipped ? 2 : 0);
  });
  ops.normalizeBatch(scratch, size, params, flags, out);
}
