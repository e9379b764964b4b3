/**
 * Attention heat maps over a photo, in pixels: the colour ramp, the blend (shared by the PNG overlay of Node and
 * the canvas overlay of a page), and the canvas overlay itself.
 */
import { tf } from "@birdvlm/core";

/** The "jet" colour ramp: 0 → dark blue, 0.5 → green-yellow, 1 → dark red. Returns RGB in 0..255. */
export function jet(v: number): [number, number, number] {
  const x = Math.min(Math.max(v, 0), 1);
  const r = Math.min(Math.max(1.5 - Math.abs(4 * x - 3), 0), 1);
  const g = Math.min(Math.max(1.5 - Math.abs(4 * x - 2), 0), 1);
  const b = Math.min(Math.max(1.5 - Math.abs(4 * x - 1), 0), 1);
  return [Math.round(r * 255), Math.round(g * 255), Math.round(b * 255)];
}

/** Pixels of a photo: `channels` (3: RGB, 4: RGBA) bytes per pixel, rows top to bottom. */
export interface PhotoPixels {
  data: Uint8Array | Uint8ClampedArray;
  width: number;
  height: number;
  channels: 3 | 4;
}

/**
 * Blends `heatmap` (`[rows, cols]`, values clipped to [0, 1], e.g. one image of `attentionRollout`), upsampled
 * bilinearly (half-pixel centres) to the photo and coloured with {@link jet}, over `photo` with opacity `alpha`,
 * in place (alpha channel untouched).
 */
export function blendHeatmap(photo: PhotoPixels, heatmap: tf.Tensor | number[][], alpha = 0.5): void {
  if (!Array.isArray(heatmap) && heatmap.rank !== 2)
    throw new Error(`attention overlay: heat map must be [rows, cols], got [${heatmap.shape}]`);
  const values = Array.isArray(heatmap) ? heatmap : (heatmap.arraySync() as number[][]);
  const rows = values.length;
  const cols = values[0]?.length ?? 0;
  if (!rows || !cols) throw new Error("attention overlay: empty heat map");
  values.forEach((row, i) => {
    if (row.length !== cols)
      throw new Error(`attention overlay: heat map row ${i} has ${row.length} values, expected ${cols}`);
  });
  const { data, width, height, channels } = photo;
  const up = tf.tidy(() => {
    const map = tf.reshape(tf.clipByValue(tf.tensor2d(values), 0, 1), [rows, cols, 1]) as tf.Tensor3D;
    return tf.image.resizeBilinear(map, [height, width], false, true).dataSync() as Float32Array;
  });
  for (let p = 0; p < width * height; p++) {
    const [r, g, b] = jet(up[p]!);
    const o = channels * p;
    data[o] = Math.round((1 - alpha) * data[o]! + alpha * r);
    data[o + 1] = Math.round((1 - alpha) * data[o + 1]! + alpha * g);
    data[o + 2] = Math.round((1 - alpha) * data[o + 2]! + alpha * b);
  }
}

/** The parts of a `CanvasRenderingContext2D` that {@link drawAttentionOverlay} uses. */
export interface Canvas2DLike {
  canvas: { width: number; height: number };
  getImageData(x: number, y: number, width: number, height: number): { data: Uint8ClampedArray };
  putImageData(image: never, x: number, y: number): void;
}

/**
 * Draws `heatmap` (`[rows, cols]` in [0, 1]) over what the canvas shows (the photo, drawn first), as
 * `renderAttentionOverlay` does in Node: the page's attention overlay.
 */
export function drawAttentionOverlay(context: Canvas2DLike, heatmap: tf.Tensor | number[][], alpha = 0.5): void {
  const { width, height } = context.canvas;
  const image = context.getImageData(0, 0, width, height);
  blendHeatmap({ data: image.data, width, height, channels: 4 }, heatmap, alpha);
  context.putImageData(image as never, 0, 0);
}
