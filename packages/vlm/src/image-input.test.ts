import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import sharp from "sharp";
import { describe, expect, it } from "vitest";
import { tf } from "@birdvlm/core";
import { toImageBatch } from "./image-input.js";
import { ImageTable } from "./image-table.js";

const pre = {
  imageSize: 8,
  mean: [0.5, 0.5, 0.5] as [number, number, number],
  std: [0.5, 0.5, 0.5] as [number, number, number],
};

describe("toImageBatch / ImageTable", () => {
  it("decodes paths and Buffers to normalized [N,S,S,3], crops to a box when asked, and names undecodable inputs", async () => {
    const dir = await mkdtemp(join(tmpdir(), "vlm-img-"));
    try {
      // left half red, right half blue, 32×16
      const raw = Buffer.alloc(32 * 16 * 3);
      for (let y = 0; y < 16; y++)
        for (let x = 0; x < 32; x++) raw.set(x < 16 ? [255, 0, 0] : [0, 0, 255], (y * 32 + x) * 3);
      const png = await sharp(raw, { raw: { width: 32, height: 16, channels: 3 } })
        .png()
        .toBuffer();
      await writeFile(join(dir, "a.png"), png);
      const batch = await toImageBatch([join(dir, "a.png"), png], pre);
      expect(batch.shape).toEqual([2, 8, 8, 3]);
      const v = batch.arraySync() as number[][][][];
      expect(v[0]![4]![4]).toEqual(v[1]![4]![4]);
      expect(Math.min(...v[0]!.flat(2))).toBeGreaterThanOrEqual(-1);
      const table = await ImageTable.fromFiles(
        ["red"],
        [{ path: join(dir, "a.png"), bbox: { x: 0, y: 0, width: 12, height: 16 } }],
        pre,
        { cropToBox: true },
      );
      const red = table.gather(["red"]).arraySync() as number[][][][];
      expect(red[0]![4]![4]![0]).toBeCloseTo(1, 1);
      expect(red[0]![4]![4]![2]).toBeCloseTo(-1, 1);
      table.dispose();
      batch.dispose();
      await expect(toImageBatch([Buffer.from("not an image")], pre)).rejects.toThrow(/image buffer 0/);
      await expect(toImageBatch([tf.zeros([1, 4, 4, 3]) as tf.Tensor4D], pre)).rejects.toThrow(
        /expects \[B, 8, 8, 3\]/,
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("keeps the encoder's cropPct of the shorter side, centred (the whole square by default)", async () => {
    // 16×16 white with a 2-pixel black frame: the whole square shows the frame in its corner, a 75% crop does not
    const raw = Buffer.alloc(16 * 16 * 3);
    for (let y = 0; y < 16; y++)
      for (let x = 0; x < 16; x++) {
        const inside = x >= 2 && x < 14 && y >= 2 && y < 14;
        raw.fill(inside ? 255 : 0, (y * 16 + x) * 3, (y * 16 + x) * 3 + 3);
      }
    const png = await sharp(raw, { raw: { width: 16, height: 16, channels: 3 } })
      .png()
      .toBuffer();
    const whole = await toImageBatch([png], pre);
    const cropped = await toImageBatch([png], { ...pre, cropPct: 0.75 });
    const corner = (b: tf.Tensor) => (b.arraySync() as number[][][][])[0]![0]![0]![0]!;
    expect(corner(whole)).toBeCloseTo(-1, 1);
    expect(corner(cropped)).toBeCloseTo(1, 1);
    tf.dispose([whole, cropped]);
  });
});
