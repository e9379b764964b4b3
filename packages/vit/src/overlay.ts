import sharp from "sharp";
import type { tf } from "@birdvlm/core";
import { blendHeatmap } from "./heatmap.js";

export { jet } from "./heatmap.js";

/** Options of {@link renderAttentionOverlay}. */
export interface OverlayOptions {
  /** Opacity of the heat map over the photo, in [0, 1]. Default 0.5. */
  alpha?: number;
  /** Output side length when the image is given as a tensor or raw pixels: default its own size. */
  size?: number;
}

/** An RGB image: anything sharp decodes (a path or an encoded Buffer), or raw pixels. */
export type OverlayImage = string | Buffer | { data: Uint8Array; width: number; height: number; channels: 3 | 4 };

/**
 * A PNG of `heatmap` (`[rows, cols]`, values in [0, 1], e.g. one image of `attentionRollout`) upsampled
 * bilinearly (half-pixel centres) to the photo, coloured with `jet` and blended over it (`blendHeatmap`).
 */
export async function renderAttentionOverlay(
  image: OverlayImage,
  heatmap: tf.Tensor | number[][],
  options: OverlayOptions = {},
): Promise<Buffer> {
  const alpha = options.alpha ?? 0.5;
  const input =
    typeof image === "string" || Buffer.isBuffer(image)
      ? sharp(image)
      : sharp(Buffer.from(image.data), { raw: { width: image.width, height: image.height, channels: image.channels } });
  const { data: out, info } = await input
    .removeAlpha()
    .toColourspace("srgb")
    .raw()
    .toBuffer({ resolveWithObject: true });
  blendHeatmap({ data: out, width: info.width, height: info.height, channels: 3 }, heatmap, alpha);
  let img = sharp(out, { raw: { width: info.width, height: info.height, channels: 3 } });
  if (options.size) img = img.resize(options.size, options.size, { fit: "fill" });
  return img.png().toBuffer();
}
