import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { tf } from "@birdvlm/core";
import { createCachedImageLoader } from "./cached-image-loader.js";
import { PixelCache } from "./pixel-cache.js";
import { augmentInto } from "./uint8-augment.js";

/** A deterministic RGB picture `w x h` (a gradient with a pattern), raw and as lossless PNG. */
function picture(w: number, h: number, seed: number): Uint8Array {
  const px = new Uint8Array(w * h * 3);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++)
      for (let c = 0; c < 3; c++) px[(y * w + x) * 3 + c] = (x * 7 + y * 3 + c * 50 + seed * 31 + ((x ^ y) & 15)) & 255;
  return px;
}

describe("PixelCache", () => {
  let dir: string;
  const sizes = [
    [40, 30],
    [24, 24],
    [17, 33],
  ] as const;
  const paths: string[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "birdvlm-pixcache-"));
    for (const [i, [w, h]] of sizes.entries()) {
      const path = join(dir, `img${i}.png`);
      await writeFile(
        path,
        await sharp(picture(w, h, i), { raw: { width: w, height: h, channels: 3 } })
          .png()
          .toBuffer(),
      );
      paths.push(path);
    }
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("round-trips pixels exactly (images not enlarged), in memory and read at offsets", async () => {
    const file = join(dir, "exact.pix");
    for (const inMemoryLimit of [undefined, 0]) {
      const cache = await PixelCache.openOrBuild(
        paths.map((path) => ({ path })),
        file,
        { shorterSide: 64, inMemoryLimit },
      );
      expect(cache.size).toBe(3);
      for (const [i, [w, h]] of sizes.entries()) {
        const px = await cache.read(i);
        expect([px.width, px.height]).toEqual([w, h]);
        expect(Buffer.from(px.data).equals(Buffer.from(picture(w, h, i)))).toBe(true);
      }
      await cache.close();
    }
  });

  it("stores the shorter side at the size asked, aspect kept, and rebuilds when the options change", async () => {
    const file = join(dir, "small.pix");
    const a = await PixelCache.openOrBuild([{ path: paths[0]! }], file, { shorterSide: 15 });
    expect(a.dims(0)).toEqual({ width: 20, height: 15 });
    const b = await PixelCache.openOrBuild([{ path: paths[0]! }], file, { shorterSide: 10 });
    expect(b.dims(0)).toEqual({ width: 13, height: 10 });
    await Promise.all([a.close(), b.close()]);
  });

  it("names the file that is missing or corrupt", async () => {
    const bad = join(dir, "corrupt.jpg");
    await writeFile(bad, Buffer.from([0xff, 0xd8, 0xff, 0xe0, 1, 2, 3, 4, 5, 6]));
    await expect(
      PixelCache.build([{ path: paths[0]! }, { path: bad }], join(dir, "x.pix"), { shorterSide: 8 }),
    ).rejects.toThrow(`${bad}: cannot decode image`);
    const missing = join(dir, "nope.jpg");
    await expect(PixelCache.openOrBuild([{ path: missing }], join(dir, "y.pix"), { shorterSide: 8 })).rejects.toThrow(
      `${missing}: cannot read image`,
    );
    const notCache = join(dir, "not.pix");
    await writeFile(notCache, "hello world, not pixels");
    await expect(PixelCache.open(notCache)).rejects.toThrow(`${notCache}: cannot read pixel cache`);
  });

  it("augmentInto: an identity crop without jitter is the normalized image; a flip mirrors it", () => {
    const w = 6;
    const src = { data: picture(w, w, 1), width: w, height: w };
    const out = new Float32Array(w * w * 3);
    const mean: [number, number, number] = [0.5, 0.4, 0.3];
    const std: [number, number, number] = [0.2, 0.25, 0.5];
    augmentInto(src, { region: { left: 0, top: 0, width: w, height: w }, flipped: false }, w, mean, std, out, 0);
    for (let i = 0; i < out.length; i++)
      expect(out[i]).toBeCloseTo((src.data[i]! / 255 - mean[i % 3]!) / std[i % 3]!, 5);
    const flipped = new Float32Array(w * w * 3);
    augmentInto(src, { region: { left: 0, top: 0, width: w, height: w }, flipped: true }, w, mean, std, flipped, 0);
    expect(flipped[0]).toBeCloseTo(out[(w - 1) * 3]!, 6);
    expect(() =>
      augmentInto(src, { region: { left: 2, top: 0, width: w, height: w }, flipped: false }, w, mean, std, out, 0),
    ).toThrow(/outside/);
  });

  it("augmentInto: a 2x shrink of a constant-per-block image averages as bilinear does", () => {
    // 4x4 -> 2x2: each output pixel centre falls between four source pixels, weights 1/4 each.
    const src = { data: new Uint8Array(4 * 4 * 3), width: 4, height: 4 };
    for (let i = 0; i < 16; i++) src.data.fill(i * 10, i * 3, i * 3 + 3);
    const out = new Float32Array(2 * 2 * 3);
    augmentInto(
      src,
      { region: { left: 0, top: 0, width: 4, height: 4 }, flipped: false },
      2,
      [0, 0, 0],
      [1, 1, 1],
      out,
      0,
    );
    expect(out[0]! * 255).toBeCloseTo(((0 + 1 + 4 + 5) * 10) / 4, 3);
  });

  it("the cached loader gives the same batches for the same seed and leaks no tensors", async () => {
    const cache = await PixelCache.openOrBuild(
      paths.map((path) => ({ path })),
      join(dir, "loader.pix"),
      { shorterSide: 20 },
    );
    const items = paths.map((path, i) => ({ path, classIndex: i }));
    const make = () =>
      createCachedImageLoader({ dataset: items, cache, augment: { size: 12, mode: "train" }, batchSize: 2, seed: 3 });
    const first: number[][] = [];
    for await (const b of make().epoch(1)) {
      first.push(Array.from(await b.images.data()));
      expect(b.images.shape.slice(1)).toEqual([12, 12, 3]);
      tf.dispose([b.images, b.labels]);
    }
    const before = tf.memory().numTensors;
    let k = 0;
    for (let rep = 0; rep < 3; rep++)
      for await (const b of make().epoch(1)) {
        expect(Array.from(await b.images.data())).toEqual(first[k++ % first.length]);
        tf.dispose([b.images, b.labels]);
      }
    expect(tf.memory().numTensors).toBe(before);
    expect(() =>
      createCachedImageLoader({ dataset: items.slice(1), cache, augment: { size: 8 }, batchSize: 1 }),
    ).toThrow(/2 images, the cache 3/);
    await cache.close();
  });
});
