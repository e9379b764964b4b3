/**
 * Photo pixels → the encoder's input, with TF.js ops only (no sharp): what a page does with a decoded picture
 * (canvas `getImageData`), and Node with raw pixels.
 */
import { tf, type ImageBatch } from "@birdvlm/core";
import type { PhotoPixels } from "./heatmap.js";

/** What {@link pixelsToImageBatch} needs of the encoder: its input side and normalization (a `ViTConfig` has them). */
export interface PixelPreprocessing {
  imageSize: number;
  mean: readonly [number, number, number];
  std: readonly [number, number, number];
}

/**
 * One photo (RGB or RGBA bytes) → `[1, S, S, 3]` float32: the largest centred square, resized bilinearly
 * (half-pixel centres) to `S = imageSize`, scaled to [0, 1] and normalized with `mean` / `std`.
 */
export function pixelsToImageBatch(photo: PhotoPixels, pre: PixelPreprocessing): ImageBatch {
  const { data, width, height, channels } = photo;
  if (data.length !== width * height * channels)
    throw new Error(`pixelsToImageBatch: ${data.length} bytes for ${width}x${height}x${channels}`);
  const side = Math.min(width, height);
  const top = Math.floor((height - side) / 2);
  const left = Math.floor((width - side) / 2);
  // The centred square's RGB, cut here: fewer values to hand to the backend than the whole RGBA photo.
  const square = new Int32Array(side * side * 3);
  for (let y = 0; y < side; y++) {
    for (let x = 0; x < side; x++) {
      const from = ((top + y) * width + left + x) * channels;
      const to = (y * side + x) * 3;
      square[to] = data[from]!;
      square[to + 1] = data[from + 1]!;
      square[to + 2] = data[from + 2]!;
    }
  }
  return tf.tidy(() => {
    const rgb = tf.tensor3d(square, [side, side, 3], "int32");
    const resized = tf.image.resizeBilinear(
      tf.cast(rgb, "float32") as tf.Tensor3D,
      [pre.imageSize, pre.imageSize],
      false,
      true,
    );
    const normalized = tf.div(tf.sub(tf.div(resized, 255), tf.tensor1d([...pre.mean])), tf.tensor1d([...pre.std]));
    return tf.expandDims(normalized, 0) as ImageBatch;
  });
}
