import { tf, type ImageBatch } from "@birdvlm/core";
import type { BatchAugment, UniformSource } from "./train-stage.js";

/** Options of {@link randomCropFlip}. */
export interface RandomCropFlipOptions {
  /** Range of the crop's area as a share of the image's (default [0.5, 1]). */
  scale?: readonly [number, number];
  /** Range of the crop's aspect ratio, width / height (default [3/4, 4/3]). */
  ratio?: readonly [number, number];
  /** Chance of a mirror image (default 0.5). */
  flipProbability?: number;
}

/**
 * Random-resized-crop and horizontal flip of already decoded, normalized batches `[B,S,S,3]`, resized back to
 * `S`×`S` bilinearly in one `cropAndResize` (a flip is a box with its x-ends swapped). For training stages over
 * in-memory image tables (`trainStage`'s `augment`), a new draw every batch.
 *
 * Reference: torchvision.transforms.RandomResizedCrop (area and log-ratio draws; falls back to the whole image).
 */
export function randomCropFlip(options: RandomCropFlipOptions = {}): BatchAugment {
  const [smin, smax] = options.scale ?? [0.5, 1];
  const [rmin, rmax] = options.ratio ?? [3 / 4, 4 / 3];
  const flip = options.flipProbability ?? 0.5;
  if (!(smin > 0 && smin <= smax && smax <= 1))
    throw new Error(`randomCropFlip: scale must satisfy 0 < min <= max <= 1, got [${smin}, ${smax}]`);
  if (!(rmin > 0 && rmin <= rmax)) throw new Error(`randomCropFlip: ratio must satisfy 0 < min <= max`);
  return (images: ImageBatch, rng: UniformSource): ImageBatch => {
    const [b, h, w] = images.shape;
    const boxes: number[][] = [];
    for (let i = 0; i < b; i++) {
      let [y0, x0, y1, x1] = [0, 0, 1, 1];
      for (let attempt = 0; attempt < 10; attempt++) {
        const area = smin + (smax - smin) * rng.float();
        const ratio = Math.exp(Math.log(rmin) + (Math.log(rmax) - Math.log(rmin)) * rng.float());
        const cw = Math.sqrt(area * ratio);
        const ch = Math.sqrt(area / ratio);
        if (cw > 1 || ch > 1) continue;
        y0 = (1 - ch) * rng.float();
        x0 = (1 - cw) * rng.float();
        [y1, x1] = [y0 + ch, x0 + cw];
        break;
      }
      boxes.push(rng.float() < flip ? [y0, x1, y1, x0] : [y0, x0, y1, x1]);
    }
    return tf.tidy(() =>
      tf.image.cropAndResize(
        images,
        tf.tensor2d(boxes, [b, 4]),
        tf.range(0, b, 1, "int32") as tf.Tensor1D,
        [h, w],
        "bilinear",
      ),
    ) as ImageBatch;
  };
}
