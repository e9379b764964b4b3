import { LUMA, colorJitterTransform, type ColorJitterSample } from "./color-jitter.js";
import type { Region } from "./crop-geometry.js";

/** Stored RGB pixels: `width * height * 3` bytes, row-major HWC. */
export interface RgbPixels {
  data: Uint8Array;
  width: number;
  height: number;
}

/** What one image's augmentation does: the crop (in stored pixels), a mirror, an optional colour jitter. */
export interface CropAugmentation {
  region: Region;
  flipped: boolean;
  jitter?: ColorJitterSample;
}

/** Scratch space reused between calls (one per caller; not thread-shared). */
export interface AugmentScratch {
  floats: Float32Array;
  xIndex: Int32Array;
  xWeight: Float32Array;
}

/** A scratch buffer for outputs of `size x size` pixels. */
export function augmentScratch(size: number): AugmentScratch {
  return {
    floats: new Float32Array(size * size * 3),
    xIndex: new Int32Array(size * 2),
    xWeight: new Float32Array(size),
  };
}

/**
 * Crop, resize, mirror, colour-jitter and normalize one stored image in one pass over its bytes:
 * `region` of `src` is resampled to `size x size` (bilinear, pixel centres as torchvision's
 * `antialias=False` resize; the cache stores images at about 1.15x the output size, so the crop shrinks by
 * at most that much and needs no antialiasing), optionally mirrored, then `rgb' = clamp(M · rgb + c)` of
 * `jitter` (the contrast mean being the mean luma of the resized crop, as torchvision), then
 * `(x - mean) / std` into `out` at `offset` floats (`[size, size, 3]`, row-major).
 */
export function augmentInto(
  src: RgbPixels,
  aug: CropAugmentation,
  size: number,
  mean: readonly [number, number, number],
  std: readonly [number, number, number],
  out: Float32Array,
  offset: number,
  scratch: AugmentScratch = augmentScratch(size),
): void {
  const { data, width: W, height: H } = src;
  checkCropRegion(aug.region, W, H);
  const { left, top, width: rw, height: rh } = aug.region;
  const S = size;
  const { floats, xIndex, xWeight } = scratch;
  // Horizontal taps: output column x reads source columns xIndex[2x], xIndex[2x+1] (byte offsets).
  const sx = rw / S;
  for (let x = 0; x < S; x++) {
    let f = left + (x + 0.5) * sx - 0.5;
    if (f < 0) f = 0;
    if (f > W - 1) f = W - 1;
    const x0 = Math.floor(f);
    const x1 = x0 + 1 < W ? x0 + 1 : x0;
    xIndex[2 * x] = x0 * 3;
    xIndex[2 * x + 1] = x1 * 3;
    xWeight[x] = f - x0;
  }
  const sy = rh / S;
  let lumaSum = 0;
  const [L0, L1, L2] = LUMA;
  for (let y = 0; y < S; y++) {
    let f = top + (y + 0.5) * sy - 0.5;
    if (f < 0) f = 0;
    if (f > H - 1) f = H - 1;
    const y0 = Math.floor(f);
    const y1 = y0 + 1 < H ? y0 + 1 : y0;
    const wy = f - y0;
    const r0 = y0 * W * 3;
    const r1 = y1 * W * 3;
    let o = y * S * 3;
    for (let x = 0; x < S; x++, o += 3) {
      const a = xIndex[2 * x]!;
      const b = xIndex[2 * x + 1]!;
      const wx = xWeight[x]!;
      const p00 = r0 + a;
      const p01 = r0 + b;
      const p10 = r1 + a;
      const p11 = r1 + b;
      let t = data[p00]! + (data[p01]! - data[p00]!) * wx;
      const red = t + (data[p10]! + (data[p11]! - data[p10]!) * wx - t) * wy;
      t = data[p00 + 1]! + (data[p01 + 1]! - data[p00 + 1]!) * wx;
      const green = t + (data[p10 + 1]! + (data[p11 + 1]! - data[p10 + 1]!) * wx - t) * wy;
      t = data[p00 + 2]! + (data[p01 + 2]! - data[p00 + 2]!) * wx;
      const blue = t + (data[p10 + 2]! + (data[p11 + 2]! - data[p10 + 2]!) * wx - t) * wy;
      floats[o] = red;
      floats[o + 1] = green;
      floats[o + 2] = blue;
      lumaSum += L0 * red + L1 * green + L2 * blue;
    }
  }
  writeNormalized(floats, S, aug, lumaSum / (255 * S * S), mean, std, out, offset);
}

/** Throws, naming the region and the image's size, when `region` is not inside a `W x H` image. */
export function checkCropRegion(region: Region, W: number, H: number): void {
  const { left, top, width, height } = region;
  if (width <= 0 || height <= 0 || left < 0 || top < 0 || left + width > W || top + height > H)
    throw new Error(`augmentInto: region ${JSON.stringify(region)} is outside the ${W}x${H} image`);
}

/** How many numbers {@link normalizationParams} writes. */
export const NORMALIZATION_PARAMS = 18;

/**
 * The numbers of the last pass ({@link writeNormalized}) into `p`: the colour matrix for 0..255 pixels (9,
 * row-major), its offset (3), the mean (3) and 1 / std (3); returns whether the result is clamped to [0, 1] (with a
 * jitter). `meanLuma` (0..1) is the contrast mean.
 */
export function normalizationParams(
  aug: CropAugmentation,
  meanLuma: number,
  mean: readonly [number, number, number],
  std: readonly [number, number, number],
  p: Float64Array,
): boolean {
  const k = 1 / 255;
  p.fill(0, 0, 12);
  if (aug.jitter) {
    const t = colorJitterTransform(aug.jitter, meanLuma);
    for (let j = 0; j < 9; j++) p[j] = t.matrix[j]! * k;
    for (let j = 0; j < 3; j++) p[9 + j] = t.offset[j]!;
  } else {
    p[0] = p[4] = p[8] = k;
  }
  for (let j = 0; j < 3; j++) {
    p[12 + j] = mean[j]!;
    p[15 + j] = 1 / std[j]!;
  }
  return Boolean(aug.jitter);
}

/**
 * Jitter (affine + clamp to [0, 1]), mirror and normalize `S x S` RGB pixels on a 0..255 scale (decoded bytes or
 * resampled floats) into `out` at `offset`: the last pass of both {@link augmentInto} and sharp's `ImagePipeline`.
 * `meanLuma` (0..1) is the contrast mean; it only matters when the jitter changes contrast.
 */
export function writeNormalized(
  floats: Float32Array,
  S: number,
  aug: CropAugmentation,
  meanLuma: number,
  mean: readonly [number, number, number],
  std: readonly [number, number, number],
  out: Float32Array,
  offset: number,
): void {
  const p = new Float64Array(NORMALIZATION_PARAMS);
  const clamp = normalizationParams(aug, meanLuma, mean, std, p);
  const [a0, a1, a2, b0, b1, b2, d0, d1, d2, c0, c1, c2, m0, m1, m2, i0, i1, i2] = p as unknown as number[];
  const step = aug.flipped ? -3 : 3;
  for (let y = 0; y < S; y++) {
    let i = y * S * 3;
    let j = offset + (y * S + (aug.flipped ? S - 1 : 0)) * 3;
    for (let x = 0; x < S; x++, i += 3, j += step) {
      const r = floats[i]!;
      const g = floats[i + 1]!;
      const b = floats[i + 2]!;
      let u = a0 * r + a1 * g + a2 * b + c0;
      let v = b0 * r + b1 * g + b2 * b + c1;
      let w = d0 * r + d1 * g + d2 * b + c2;
      if (clamp) {
        u = u < 0 ? 0 : u > 1 ? 1 : u;
        v = v < 0 ? 0 : v > 1 ? 1 : v;
        w = w < 0 ? 0 : w > 1 ? 1 : w;
      }
      out[j] = (u - m0) * i0;
      out[j + 1] = (v - m1) * i1;
      out[j + 2] = (w - m2) * i2;
    }
  }
}
