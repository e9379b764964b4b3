import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import sharp from "sharp";
import { Rng, tf } from "@birdvlm/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sharedPath } from "../../../testing/shared.js";
import { colorJitterTransform, LUMA } from "./color-jitter.js";
import { randomResizedCropRegion } from "./crop-geometry.js";
import { CubDataset } from "./cub-dataset.js";
import { IMAGENET_MEAN, IMAGENET_STD, ImagePipeline, jpegHeaderSize } from "./image-pipeline.js";

const subset = sharedPath("data/cub-subset-train");
let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "birdvlm-pipe-"));
});
afterAll(async () => rm(dir, { recursive: true, force: true }));

/** Raw RGB of a `w`x`h` image whose left half is red and right half blue. */
function halves(w: number, h: number): Buffer {
  const px = Buffer.alloc(w * h * 3);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) px.set(x < w / 2 ? [255, 0, 0] : [0, 0, 255], (y * w + x) * 3);
  return px;
}

/** The un-normalized RGB (0..255) at pixel (x, y) of a processed image. */
function rgbAt(out: Float32Array, size: number, x: number, y: number): number[] {
  const i = (y * size + x) * 3;
  return [0, 1, 2].map((c) => Math.round((out[i + c]! * IMAGENET_STD[c]! + IMAGENET_MEAN[c]!) * 255));
}

describe("ImagePipeline", () => {
  it("normalizes exactly with the given mean and std", async () => {
    const png = await sharp({ create: { width: 8, height: 8, channels: 3, background: { r: 255, g: 0, b: 128 } } })
      .png()
      .toBuffer();
    const out = await new ImagePipeline({ size: 8, cropPct: 1, mean: [0.5, 0.25, 0], std: [0.5, 0.25, 2] }).load({
      data: png,
    });
    expect(out.length).toBe(8 * 8 * 3);
    for (let i = 0; i < out.length; i += 3) {
      expect(out[i]).toBeCloseTo((1 - 0.5) / 0.5, 6);
      expect(out[i + 1]).toBeCloseTo((0 - 0.25) / 0.25, 6);
      expect(out[i + 2]).toBeCloseTo(128 / 255 / 2, 6);
    }
  });

  it("decodes JPEG, PNG, WebP, greyscale and alpha into three channels", async () => {
    const base = sharp(halves(32, 32), { raw: { width: 32, height: 32, channels: 3 } });
    const inputs = [
      await base.clone().jpeg({ quality: 95 }).toBuffer(),
      await base.clone().png().toBuffer(),
      await base.clone().webp({ lossless: true }).toBuffer(),
      await base.clone().greyscale().png().toBuffer(),
      await base.clone().ensureAlpha(0.5).png().toBuffer(),
    ];
    const pipe = new ImagePipeline({ size: 16, cropPct: 1 });
    for (const [k, data] of inputs.entries()) {
      const out = await pipe.load({ data, name: `input ${k}` });
      const left = rgbAt(out, 16, 2, 8);
      const right = rgbAt(out, 16, 13, 8);
      if (k === 3) expect(left[0]).toBe(left[2]);
      else {
        expect(left[0]).toBeGreaterThan(230);
        expect(right[2]).toBeGreaterThan(230);
        expect(left[2]).toBeLessThan(25);
      }
    }
  });

  it("applies EXIF orientation before cropping", async () => {
    const jpeg = await sharp(halves(40, 20), { raw: { width: 40, height: 20, channels: 3 } })
      .jpeg({ quality: 95 })
      .withMetadata({ orientation: 6 })
      .toBuffer();
    // Orientation 6: the stored image turns 90 degrees clockwise, so its left (red) half becomes the top.
    const out = await new ImagePipeline({ size: 20, cropPct: 1 }).load({ data: jpeg });
    expect(rgbAt(out, 20, 10, 2)[0]).toBeGreaterThan(230);
    expect(rgbAt(out, 20, 10, 17)[2]).toBeGreaterThan(230);
  });

  it("crops to the bounding box with a margin", async () => {
    const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="100" height="100"><rect width="100" height="100" fill="#f00"/><rect x="60" y="60" width="20" height="20" fill="#0f0"/></svg>`;
    const png = await sharp(Buffer.from(svg)).png().toBuffer();
    const bbox = { x: 60, y: 60, width: 20, height: 20 };
    const tight = await new ImagePipeline({ size: 10, cropPct: 1, boxMargin: 0 }).load({ data: png, bbox });
    for (let y = 0; y < 10; y++) for (let x = 0; x < 10; x++) expect(rgbAt(tight, 10, x, y)[1]).toBeGreaterThan(240);
    const loose = await new ImagePipeline({ size: 40, cropPct: 1, boxMargin: 0.5 }).load({ data: png, bbox });
    expect(rgbAt(loose, 40, 1, 1)[0]).toBeGreaterThan(240);
    expect(rgbAt(loose, 40, 20, 20)[1]).toBeGreaterThan(240);
    const ignored = await new ImagePipeline({ size: 10, cropPct: 1, cropToBox: false }).load({ data: png, bbox });
    expect(rgbAt(ignored, 10, 1, 1)[0]).toBeGreaterThan(240);
  });

  it("flips, and is deterministic for the same generator", async () => {
    const png = await sharp(halves(32, 32), { raw: { width: 32, height: 32, channels: 3 } })
      .png()
      .toBuffer();
    const flip = new ImagePipeline({
      size: 16,
      mode: "train",
      scale: [1, 1],
      ratio: [1, 1],
      flipProbability: 1,
      colorJitter: false,
    });
    const flipped = await flip.load({ data: png }, new Rng(1));
    expect(rgbAt(flipped, 16, 2, 8)[2]).toBeGreaterThan(230);
    expect(rgbAt(flipped, 16, 13, 8)[0]).toBeGreaterThan(230);
    const train = new ImagePipeline({ size: 16, mode: "train" });
    const a = await train.load({ data: png }, new Rng(5));
    const b = await train.load({ data: png }, new Rng(5));
    const c = await train.load({ data: png }, new Rng(6));
    expect(a).toEqual(b);
    expect(a).not.toEqual(c);
  });

  it("fuses the colour jitter into one affine map equal to the steps one by one", () => {
    const j = { brightness: 1.1, contrast: 0.8, saturation: 1.2, hue: 0.05 };
    const rng = new Rng(3);
    const pixels = Array.from({ length: 50 }, () => [
      0.3 + 0.4 * rng.float(),
      0.3 + 0.4 * rng.float(),
      0.3 + 0.4 * rng.float(),
    ]);
    const luma = (p: number[]) => LUMA[0] * p[0]! + LUMA[1] * p[1]! + LUMA[2] * p[2]!;
    const mean = pixels.reduce((s, p) => s + luma(p), 0) / pixels.length;
    const { matrix: M, offset: o } = colorJitterTransform(j, mean);
    // the steps as torchvision writes them (no clamping needed: values stay inside [0, 1])
    const yiq = [
      [0.299, 0.587, 0.114],
      [0.596, -0.274, -0.322],
      [0.211, -0.523, 0.312],
    ];
    for (const p of pixels) {
      let q = p.map((v) => v * j.brightness);
      q = q.map((v) => j.contrast * v + (1 - j.contrast) * mean * j.brightness);
      const l = luma(q);
      q = q.map((v) => j.saturation * v + (1 - j.saturation) * l);
      const [Y, I, Q] = yiq.map((row) => row[0]! * q[0]! + row[1]! * q[1]! + row[2]! * q[2]!) as [
        number,
        number,
        number,
      ];
      const t = 2 * Math.PI * j.hue;
      const I2 = I * Math.cos(t) - Q * Math.sin(t);
      const Q2 = I * Math.sin(t) + Q * Math.cos(t);
      // back from YIQ by solving yiq · rgb = [Y, I2, Q2]
      const back = solve3(yiq, [Y, I2, Q2]);
      for (let c = 0; c < 3; c++)
        expect(M[c * 3]! * p[0]! + M[c * 3 + 1]! * p[1]! + M[c * 3 + 2]! * p[2]! + o[c]!).toBeCloseTo(back[c]!, 9);
    }
  });

  it("reads a JPEG's size and orientation from its header as sharp does, for all eight orientations and real photos", async () => {
    const jpeg = await sharp(halves(40, 20), { raw: { width: 40, height: 20, channels: 3 } })
      .jpeg({ quality: 90 })
      .toBuffer();
    const files = subset ? (await CubDataset.open(subset)).subset([0, 700, 1400, 2100, 2800]) : undefined;
    const real = files
      ? await Promise.all(Array.from({ length: files.size }, (_, i) => readFile(files.get(i).path)))
      : [];
    for (const data of [
      jpeg,
      ...(await Promise.all(
        [1, 2, 3, 4, 5, 6, 7, 8].map((o) => sharp(jpeg).withMetadata({ orientation: o }).toBuffer()),
      )),
      ...real,
    ]) {
      const meta = await sharp(data, { autoOrient: true }).metadata();
      expect(jpegHeaderSize(data)).toEqual({ width: meta.autoOrient.width, height: meta.autoOrient.height });
    }
    expect(jpegHeaderSize(await sharp(jpeg).png().toBuffer())).toBeUndefined(); // other formats: sharp reads them
    expect(jpegHeaderSize(jpeg.subarray(0, 6))).toBeUndefined();
  });

  it("keeps random-resized-crop regions inside the image and in the scale range", () => {
    const rng = new Rng(9);
    const region = { left: 10, top: 20, width: 200, height: 120 };
    for (let k = 0; k < 500; k++) {
      const r = randomResizedCropRegion(region, rng, [0.3, 0.9], [3 / 4, 4 / 3]);
      expect(r.left).toBeGreaterThanOrEqual(10);
      expect(r.top).toBeGreaterThanOrEqual(20);
      expect(r.left + r.width).toBeLessThanOrEqual(210);
      expect(r.top + r.height).toBeLessThanOrEqual(140);
      const frac = (r.width * r.height) / (200 * 120);
      expect(frac).toBeGreaterThan(0.28);
      expect(frac).toBeLessThan(0.92);
    }
  });

  it("names the file of a corrupt or truncated image", async () => {
    const good = join(dir, "good.jpg");
    const jpeg = await sharp(halves(64, 64), { raw: { width: 64, height: 64, channels: 3 } })
      .jpeg()
      .toBuffer();
    await writeFile(good, jpeg);
    const cut = join(dir, "cut.jpg");
    await writeFile(cut, jpeg.subarray(0, Math.floor(jpeg.length / 2)));
    const junk = join(dir, "junk.jpg");
    await writeFile(junk, "this is not an image");
    const pipe = new ImagePipeline({ size: 16 });
    await expect(pipe.load(good)).resolves.toBeInstanceOf(Float32Array);
    await expect(pipe.load(cut)).rejects.toThrow(/cut\.jpg: cannot decode image/);
    await expect(pipe.load(junk)).rejects.toThrow(/junk\.jpg: cannot decode image/);
    await expect(pipe.load(join(dir, "absent.jpg"))).rejects.toThrow(/absent\.jpg: cannot read image/);
  });
});

describe.skipIf(!subset)("ImagePipeline on real CUB photos", () => {
  it("makes an ImageBatch of the right shape and range, without leaking tensors", async () => {
    const cub = await CubDataset.open(subset!, { checkFiles: false });
    const paths = [0, 500, 1000, 2998].map((i) => cub.get(i).path);
    for (const mode of ["train", "eval"] as const) {
      const pipe = new ImagePipeline({ size: 64, mode });
      const before = tf.memory().numTensors;
      const batch = await pipe.batch(
        paths,
        paths.map((_, i) => new Rng(i)),
      );
      expect(batch.shape).toEqual([4, 64, 64, 3]);
      expect(batch.dtype).toBe("float32");
      const values = await batch.data();
      const lo = Math.min(...IMAGENET_MEAN.map((m, c) => -m / IMAGENET_STD[c]!));
      const hi = Math.max(...IMAGENET_MEAN.map((m, c) => (1 - m) / IMAGENET_STD[c]!));
      let min = Infinity,
        max = -Infinity;
      for (const v of values) {
        min = Math.min(min, v);
        max = Math.max(max, v);
      }
      expect(min).toBeGreaterThanOrEqual(lo - 1e-5);
      expect(max).toBeLessThanOrEqual(hi + 1e-5);
      expect(max - min).toBeGreaterThan(2);
      batch.dispose();
      expect(tf.memory().numTensors).toBe(before);
    }
    expect((await readFile(paths[0]!)).length).toBeGreaterThan(1000);
  });
});

function solve3(a: number[][], b: number[]): number[] {
  const det = (m: number[][]) =>
    m[0]![0]! * (m[1]![1]! * m[2]![2]! - m[1]![2]! * m[2]![1]!) -
    m[0]![1]! * (m[1]![0]! * m[2]![2]! - m[1]![2]! * m[2]![0]!) +
    m[0]![2]! * (m[1]![0]! * m[2]![1]! - m[1]![1]! * m[2]![0]!);
  const d = det(a);
  return [0, 1, 2].map((c) => det(a.map((row, r) => row.map((v, k) => (k === c ? b[r]! : v)))) / d);
}
