import sharp from "sharp";
import { describe, expect, it } from "vitest";
import { drawAttentionOverlay } from "./heatmap.js";
import { renderAttentionOverlay } from "./overlay.js";

describe("drawAttentionOverlay", () => {
  it("draws on a canvas what renderAttentionOverlay writes as a PNG", async () => {
    const width = 8;
    const height = 6;
    const rgb = new Uint8Array(width * height * 3).map((_, i) => (i * 37) % 256);
    const heat = [
      [0, 0.25, 1],
      [0.5, 0.75, 0.1],
    ];
    const png = await renderAttentionOverlay({ data: rgb, width, height, channels: 3 }, heat, { alpha: 0.4 });
    const expected = await sharp(png).raw().toBuffer();
    const rgba = new Uint8ClampedArray(width * height * 4);
    for (let p = 0; p < width * height; p++) {
      rgba.set(rgb.subarray(3 * p, 3 * p + 3), 4 * p);
      rgba[4 * p + 3] = 255;
    }
    let put: Uint8ClampedArray | undefined;
    const context = {
      canvas: { width, height },
      getImageData: () => ({ data: rgba }),
      putImageData: (image: { data: Uint8ClampedArray }) => (put = image.data),
    };
    drawAttentionOverlay(context as never, heat, 0.4);
    expect(put).toBe(rgba);
    const drawn = [...rgba].filter((_, i) => i % 4 !== 3);
    expect(drawn).toEqual([...expected]);
    expect([...rgba].filter((_, i) => i % 4 === 3).every((a) => a === 255)).toBe(true);
  });
});
