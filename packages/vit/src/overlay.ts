import sharp from "sharp";
import { tf } from "@birdvlm/core";

/** Options of {@link renderAttentionOverlay}. */
export interface OverlayOptions {
  /** Opacity of the heat map over the photo, in [0, 1]. Default 0.5. */
  alpha?: number;
  /** Output side length when the image is given as a tensor or raw pixels: default its own size. */
  size?: number;
}

/** An RGB image: anything sharp decodes (a path or an encoded Buffer), or raw pixels. */
export type OverlayImage = string | Buffer | { data: Uint8Array; width: number; height: number; channels: 3 | 4 };

/** The "jet" colour ramp: 0 → dark blue, 0.5 → green-yellow, 1 → dark red. Returns RGB in 0..255. */
export function jet(v: number): [number, number, number] {
  const x = Math.min(Math.max(v, 0), 1);
  const r = Math.min(Math.max(1.5 - Math.abs(4 * x - 3), 0), 1);
  const g = Math.min(Math.max(1.5 - Math.abs(4 * x - 2), 0), 1);
  const b = Math.min(Math.max(1.5 - Math.abs(4 * x - 1), 0), 1);
  return [Math.round(r * 255), Math.round(g * 255), Math.round(b * 255)];
}

/**
 * A PNG of `heatmap` (`[rows, cols]`, values in [0, 1], e.g. one image of `attentionRollout`) upsampled
 * bilinearly (half-pixel centres) to the photo, coloured with {@link jet} and blended over it.
 */
export async function renderAttentionOverlay(
  image: OverlayImage,
  heatmap: tf.Tensor | number[][],
  options: OverlayOptions = {},
): Promise<Buffer> {
  if (!Array.isArray(heatmap) && heatmap.rank !== 2)
    throw new Error(`renderAttentionOverlay: heat map must be [rows, cols], got [${heatmap.shape}]`);
  const alpha = options.alpha ?? 0.5;
  const input =
    typeof image === "string" || Buffer.isBuffer(image)
      ? sharp(image)
      : sharp(Buffer.from(image.data), { raw: { width: image.width, height: image.height, channels: image.channels } });
  const { data: photo, info } = await input
    .removeAlpha()
    .toColourspace("srgb")
    .raw()
    .toBuffer({ resolveWithObject: true });
  const values = Array.isArray(heatmap) ? heatmap : (heatmap.arraySync() as number[][]);
  const rows = values.length;
  const cols = values[0]?.length ?? 0;
  if (!rows || !cols) throw new Error("renderAttentionOverlay: empty heat map");
  values.forEach((row, i) => {
    if (row.length !== cols)
      throw new Error(`renderAttentionOverlay: heat map row ${i} has ${row.length} values, expected ${cols}`);
  });
  const up = tf.tidy(() => {
    const map = tf.reshape(tf.clipByValue(tf.tensor2d(values), 0, 1), [rows, cols, 1]) as tf.Tensor3D;
    return tf.image.resizeBilinear(map, [info.height, info.width], false, true).dataSync() as Float32Array;
  });
  const out = Buffer.alloc(info.width * info.height * 3);
  for (let p = 0; p < info.width * info.height; p++) {
    const [r, g, b] = jet(up[p]!);
    out[3 * p] = Math.round((1 - alpha) * photo[3 * p]! + alpha * r);
    out[3 * p + 1] = Math.round((1 - alpha) * photo[3 * p + 1]! + alpha * g);
    out[3 * p + 2] = Math.round((1 - alpha) * photo[3 * p + 2]! + alpha * b);
  }
  let img = sharp(out, { raw: { width: info.width, height: info.height, channels: 3 } });
  if (options.size) img = img.resize(options.size, options.size, { fit: "fill" });
  return img.png().toBuffer();
}
