import type { Rng } from "@birdvlm/core";

/** Strengths of a colour jitter, as in torchvision's `ColorJitter`: factors drawn in `[1-x, 1+x]`, hue in `[-h, h]`. */
export interface ColorJitterOptions {
  brightness?: number;
  contrast?: number;
  saturation?: number;
  /** Fraction of a full turn of hue, at most 0.5. */
  hue?: number;
}

/** One drawn jitter: the factors applied, in the order brightness, contrast, saturation, hue. */
export interface ColorJitterSample {
  brightness: number;
  contrast: number;
  saturation: number;
  hue: number;
}

/** An affine colour map `rgb' = matrix · rgb + offset` (row-major 3x3) on values in [0, 1]. */
export interface ColorTransform {
  matrix: Float64Array;
  offset: Float64Array;
}

/** Luma weights of ITU-R 601 (torchvision's `rgb_to_grayscale`). */
export const LUMA = [0.299, 0.587, 0.114] as const;

/** Draws the factors of a jitter. */
export function sampleColorJitter(options: ColorJitterOptions, rng: Rng): ColorJitterSample {
  const factor = (x = 0): number => (x > 0 ? Math.max(0, 1 - x) + rng.float() * (1 + x - Math.max(0, 1 - x)) : 1);
  const brightness = factor(options.brightness);
  const contrast = factor(options.contrast);
  const saturation = factor(options.saturation);
  const h = Math.min(0.5, options.hue ?? 0);
  const hue = h > 0 ? -h + rng.float() * 2 * h : 0;
  return { brightness, contrast, saturation, hue };
}

/**
 * The jitter as one affine map. Brightness scales; contrast blends with the image's mean luma (`meanLuma`,
 * measured before the jitter); saturation blends each pixel with its luma; hue rotates chroma in YIQ space.
 * Every step is linear, so the four compose into one matrix, applied with a single clamp at the end.
 *
 * Against torchvision's `ColorJitter`: it applies the four steps in a random order (`randperm(4)`) and clamps
 * after each; without clamping the order does not matter here (brightness and contrast scale about grey,
 * saturation and the YIQ hue rotation keep luma, so each commutes with the others), so the results agree wherever
 * no step leaves [0, 1]. torchvision shifts hue in HSV, which this YIQ rotation approximates. `ImagePipeline`
 * applies the map in its normalization loop: libvips' `recomb` + `linear` measured slower (1.2 ms of CPU per
 * 224 px image inside the decode pipeline, 1.8 ms as a second pass, against 0.3 ms for the loop).
 */
export function colorJitterTransform(j: ColorJitterSample, meanLuma: number): ColorTransform {
  let m = [j.brightness, 0, 0, 0, j.brightness, 0, 0, 0, j.brightness];
  let o = [0, 0, 0];
  // contrast: c·x + (1-c)·mean, with the mean after brightness
  const c = j.contrast;
  m = m.map((v) => v * c);
  o = [0, 1, 2].map(() => (1 - c) * j.brightness * meanLuma);
  // saturation: s·x + (1-s)·luma(x); the offset is grey and stays put
  const s = j.saturation;
  const sat = [0, 1, 2].flatMap((r) => [0, 1, 2].map((k) => (r === k ? s : 0) + (1 - s) * LUMA[k]!));
  m = mul3(sat, m);
  if (j.hue !== 0) {
    const t = 2 * Math.PI * j.hue;
    const cos = Math.cos(t);
    const sin = Math.sin(t);
    const toYiq = [0.299, 0.587, 0.114, 0.596, -0.274, -0.322, 0.211, -0.523, 0.312];
    const fromYiq = inverse3(toYiq);
    const rot = [1, 0, 0, 0, cos, -sin, 0, sin, cos];
    const hue = mul3(fromYiq, mul3(rot, toYiq));
    m = mul3(hue, m);
    o = [0, 1, 2].map((r) => hue[r * 3]! * o[0]! + hue[r * 3 + 1]! * o[1]! + hue[r * 3 + 2]! * o[2]!);
  }
  return { matrix: Float64Array.from(m), offset: Float64Array.from(o) };
}

function mul3(a: number[], b: number[]): number[] {
  const out = new Array<number>(9).fill(0);
  for (let r = 0; r < 3; r++)
    for (let c = 0; c < 3; c++) for (let k = 0; k < 3; k++) out[r * 3 + c]! += a[r * 3 + k]! * b[k * 3 + c]!;
  return out;
}

function inverse3(m: number[]): number[] {
  const [a, b, c, d, e, f, g, h, i] = m as [number, number, number, number, number, number, number, number, number];
  const A = e * i - f * h;
  const B = -(d * i - f * g);
  const C = d * h - e * g;
  const det = a * A + b * B + c * C;
  return [
    A,
    -(b * i - c * h),
    b * f - c * e,
    B,
    a * i - c * g,
    -(a * f - c * d),
    C,
    -(a * h - b * g),
    a * e - b * d,
  ].map((v) => v / det);
}
