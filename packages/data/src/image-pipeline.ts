import { imageSize } from "image-size";
import sharp, { type Sharp } from "sharp";
import { type ImageBatch, Rng, tf } from "@birdvlm/core";
import { type ColorJitterOptions, LUMA, sampleColorJitter } from "./color-jitter.js";
import { type Region, boxWithMargin, centerCropRegion, randomResizedCropRegion } from "./crop-geometry.js";
import type { BoundingBox } from "./cub-dataset.js";
import { DataFormatError } from "./data-format-error.js";
import { MAX_IMAGE_BYTES, readRegularFile } from "./listed-path.js";
import { writeNormalized } from "./uint8-augment.js";

/** ImageNet's per-channel mean (RGB, on values in [0, 1]). */
export const IMAGENET_MEAN: [number, number, number] = [0.485, 0.456, 0.406];
/** ImageNet's per-channel standard deviation. */
export const IMAGENET_STD: [number, number, number] = [0.229, 0.224, 0.225];
/**
 * The fraction of the shorter side that evaluation's centre crop keeps for a model trained on random-resized
 * crops (timm's default `crop_pct`).
 */
export const DEFAULT_CROP_PCT = 0.875;

/** What the pipeline reads: a file path, or encoded bytes (JPEG, PNG, WebP...), optionally with a box. */
export type ImageSource =
  string | { path: string; bbox?: BoundingBox } | { data: Uint8Array; name?: string; bbox?: BoundingBox };

/** Options of an {@link ImagePipeline}; plain data with defaults. */
export interface ImagePipelineOptions {
  /** Output height and width. Default 224. */
  size?: number;
  /** Per-channel mean and std the encoder expects (on values in [0, 1]). Default ImageNet's. */
  mean?: [number, number, number];
  std?: [number, number, number];
  /** `train`: random-resized-crop, flip, colour jitter. `eval`: resize + center crop. Default `eval`. */
  mode?: "train" | "eval";
  /** Crop to the source's bounding box (when it has one) before anything else. Default `true`. */
  cropToBox?: boolean;
  /** Margin added around the box on each side, as a fraction of its width / height. Default 0.1. */
  boxMargin?: number;
  /** Eval: the center crop keeps this fraction of the shorter side (timm's `crop_pct`). Default 0.875. */
  cropPct?: number;
  /** Train: area fraction range of random-resized-crop. Default `[0.08, 1]`. */
  scale?: [number, number];
  /** Train: aspect ratio range of random-resized-crop. Default `[3/4, 4/3]`. */
  ratio?: [number, number];
  /** Train: probability of a horizontal flip. Default 0.5. */
  flipProbability?: number;
  /** Train: colour jitter strengths, or `false`. Default `{ brightness: 0.4, contrast: 0.4, saturation: 0.4 }`. */
  colorJitter?: ColorJitterOptions | false;
  /** Resampling kernel of the resize. Default `linear` (bilinear with antialiasing, like torchvision). */
  kernel?: "nearest" | "linear" | "cubic" | "mitchell" | "lanczos2" | "lanczos3";
  /**
   * When sharp refuses damaged pixel data: `truncated` (only cut-off files), `error`, or `warning` (also corrupt
   * data libjpeg recovers from by guessing, e.g. scrambled bytes in the middle of a JPEG). Default `warning`.
   */
  failOn?: "none" | "truncated" | "error" | "warning";
  /** Seed of the pipeline's own generator, used when a call passes none. Default 0. */
  seed?: number;
  /** Largest image file read, in bytes; only regular files are read. Default {@link MAX_IMAGE_BYTES} (64 MiB). */
  maxFileBytes?: number;
}

/** The random choices of one train-mode image, for tests and reproducibility. */
export interface AugmentationRecord {
  region: Region;
  flipped: boolean;
  jitter?: { brightness: number; contrast: number; saturation: number; hue: number };
}

/**
 * Decodes images with sharp and turns them into normalized float32 NHWC pixels: decode (JPEG, PNG, WebP...),
 * apply EXIF orientation, optionally crop to the bounding box with a margin, then for training a
 * random-resized-crop, horizontal flip and colour jitter, for evaluation a resize + center crop, and finally
 * `(x / 255 - mean) / std`.
 *
 * ```ts
 * const pipe = new ImagePipeline({ size: 224, mode: "train", mean: vit.mean, std: vit.std });
 * const batch = await pipe.batch([{ path, bbox }, path2], rngs);   // ImageBatch [2, 224, 224, 3]
 * ```
 */
export class ImagePipeline {
  readonly size: number;
  readonly mean: [number, number, number];
  readonly std: [number, number, number];
  readonly mode: "train" | "eval";
  private readonly o: Required<Omit<ImagePipelineOptions, "colorJitter">> & { colorJitter: ColorJitterOptions | false };
  private readonly rng: Rng;

  constructor(options: ImagePipelineOptions = {}) {
    this.o = {
      size: 224,
      mean: IMAGENET_MEAN,
      std: IMAGENET_STD,
      mode: "eval",
      cropToBox: true,
      boxMargin: 0.1,
      cropPct: DEFAULT_CROP_PCT,
      scale: [0.08, 1],
      ratio: [3 / 4, 4 / 3],
      flipProbability: 0.5,
      colorJitter: { brightness: 0.4, contrast: 0.4, saturation: 0.4 },
      kernel: "linear",
      failOn: "warning",
      seed: 0,
      maxFileBytes: MAX_IMAGE_BYTES,
      ...options,
    };
    this.size = this.o.size;
    this.mean = this.o.mean;
    this.std = this.o.std;
    this.mode = this.o.mode;
    this.rng = new Rng(this.o.seed);
    if (!Number.isInteger(this.size) || this.size < 1)
      throw new Error(`ImagePipeline: size must be a positive integer, got ${this.size}`);
    if (this.std.some((s) => !(s > 0)))
      throw new Error(`ImagePipeline: std must be positive, got ${JSON.stringify(this.std)}`);
  }

  /** Number of floats of one processed image: `size * size * 3`. */
  get imageLength(): number {
    return this.size * this.size * 3;
  }

  /**
   * Processes one image into `[size, size, 3]` float32 (row-major HWC). `rng` drives the train-mode
   * choices (the pipeline's own generator when omitted). Errors name the file.
   */
  async load(source: ImageSource, rng?: Rng): Promise<Float32Array> {
    const out = new Float32Array(this.imageLength);
    await this.loadInto(source, out, 0, rng);
    return out;
  }

  /** Like {@link load}, writing into `out` at `offset` (floats); returns the augmentation applied. */
  async loadInto(source: ImageSource, out: Float32Array, offset: number, rng?: Rng): Promise<AugmentationRecord> {
    const name = sourceName(source);
    let bytes: Uint8Array;
    try {
      bytes =
        typeof source === "string"
          ? await readRegularFile(source, this.o.maxFileBytes)
          : "path" in source
            ? await readRegularFile(source.path, this.o.maxFileBytes)
            : source.data;
    } catch (e) {
      if (e instanceof DataFormatError) throw e;
      throw new Error(`${name}: cannot read image (${(e as Error).message})`);
    }
    const bbox = typeof source === "string" ? undefined : source.bbox;
    try {
      return await this.decode(bytes, bbox, out, offset, rng ?? this.rng);
    } catch (e) {
      throw new Error(`${name}: cannot decode image (${await decodeFailureReason(bytes, e as Error, this.o.failOn)})`);
    }
  }

  /**
   * Processes a batch into one `ImageBatch` tensor `[B, size, size, 3]` (the caller disposes it). `rngs[i]`
   * drives image `i`'s augmentation.
   */
  async batch(sources: ImageSource[], rngs?: Rng[]): Promise<ImageBatch> {
    const data = new Float32Array(sources.length * this.imageLength);
    await Promise.all(sources.map((s, i) => this.loadInto(s, data, i * this.imageLength, rngs?.[i])));
    return this.toBatch(data, sources.length);
  }

  /** Wraps `count` processed images laid end to end in `data` as an `ImageBatch` `[count, size, size, 3]`. */
  toBatch(data: Float32Array, count: number): ImageBatch {
    if (data.length !== count * this.imageLength)
      throw new Error(
        `ImagePipeline.toBatch: expected ${count * this.imageLength} floats for ${count} images, got ${data.length}`,
      );
    return tf.tensor4d(data, [count, this.size, this.size, 3], "float32");
  }

  private async decode(
    bytes: Uint8Array,
    bbox: BoundingBox | undefined,
    out: Float32Array,
    offset: number,
    rng: Rng,
  ): Promise<AugmentationRecord> {
    const o = this.o;
    const image = sharp(bytes, { autoOrient: true, failOn: o.failOn });
    const { width, height } = jpegHeaderSize(bytes) ?? (await orientedSize(image));
    let region: Region = { left: 0, top: 0, width, height };
    if (bbox && o.cropToBox) region = boxWithMargin(bbox, o.boxMargin, width, height);
    const record: AugmentationRecord = { region, flipped: false };
    if (o.mode === "train") {
      record.region = randomResizedCropRegion(region, rng, o.scale, o.ratio);
      record.flipped = rng.float() < o.flipProbability;
      if (o.colorJitter) record.jitter = sampleColorJitter(o.colorJitter, rng);
    } else {
      record.region = centerCropRegion(region, o.cropPct);
    }
    const { data, info } = await image
      .extract(record.region)
      .resize(this.size, this.size, { fit: "fill", kernel: o.kernel })
      .removeAlpha()
      .toColourspace("srgb")
      .raw()
      .toBuffer({ resolveWithObject: true });
    if (info.channels !== 3 || info.width !== this.size || info.height !== this.size) {
      throw new Error(`decoded to ${info.width}x${info.height}x${info.channels}, expected ${this.size}x${this.size}x3`);
    }
    this.normalize(data, out, offset, record);
    return record;
  }

  /** Decoded pixels widened to float (0..255), reused: the shared last pass stays on one array type. */
  private pixels = new Float32Array(0);

  /** `(jitter(x / 255) - mean) / std`, mirrored when flipped, into `out` at `offset`. */
  private normalize(px: Uint8Array, out: Float32Array, offset: number, record: AugmentationRecord): void {
    const S = this.size;
    if (this.pixels.length !== px.length) this.pixels = new Float32Array(px.length);
    const f = this.pixels;
    let luma = 0;
    for (let i = 0; i < px.length; i += 3) {
      const r = (f[i] = px[i]!);
      const g = (f[i + 1] = px[i + 1]!);
      const b = (f[i + 2] = px[i + 2]!);
      luma += LUMA[0] * r + LUMA[1] * g + LUMA[2] * b;
    }
    writeNormalized(f, S, record, luma / (255 * S * S), this.mean, this.std, out, offset);
  }
}

/**
 * Width and height after EXIF orientation from a JPEG's header, read in JavaScript (no trip through sharp);
 * `undefined` for other formats or a header image-size cannot read (sharp then reads it, and names any damage).
 */
export function jpegHeaderSize(bytes: Uint8Array): { width: number; height: number } | undefined {
  if (bytes[0] !== 0xff || bytes[1] !== 0xd8) return undefined;
  try {
    const { width, height, orientation } = imageSize(bytes);
    if (!width || !height) return undefined;
    return orientation !== undefined && orientation >= 5 ? { width: height, height: width } : { width, height };
  } catch {
    return undefined;
  }
}

/** Width and height after EXIF orientation, from sharp's reading of the header. */
async function orientedSize(image: Sharp): Promise<{ width: number; height: number }> {
  const meta = await image.metadata();
  const width = meta.autoOrient?.width ?? meta.width;
  const height = meta.autoOrient?.height ?? meta.height;
  if (!width || !height) throw new Error("no image dimensions in the header");
  return { width, height };
}

/** Decodes run one at a time when a failure is explained again (see {@link decodeFailureReason}). */
let explaining: Promise<unknown> = Promise.resolve();

/**
 * What went wrong in a failed decode. A JPEG without its end-of-image marker is named as truncated from its bytes
 * alone. Otherwise the reason is libvips' words, each line once; but libvips keeps one error buffer for all its
 * threads, so under concurrency a failure's text can land in another image's error (doubled there) and its own
 * reads "Unknown error", only "Warning treated as error", or another image's words. A vague failure is decoded
 * once more, one at a time, to recover its reason.
 */
export async function decodeFailureReason(
  bytes: Uint8Array,
  error: Error,
  failOn: NonNullable<ImagePipelineOptions["failOn"]>,
): Promise<string> {
  const clean = (message: string): string =>
    [...new Set(message.split("\n").map((l) => l.trim()))].filter(Boolean).join("; ");
  const vague = (r: string): boolean =>
    r === "" || /^(Unknown error|Warning treated as error due to failOn setting)$/.test(r);
  const n = bytes.length;
  if (bytes[0] === 0xff && bytes[1] === 0xd8 && !(bytes[n - 2] === 0xff && bytes[n - 1] === 0xd9))
    return `premature end of JPEG image: no end-of-image marker in its ${n} bytes (truncated file?)`;
  const reason = clean(error.message);
  if (!vague(reason)) return reason;
  const retry = explaining.then(() =>
    sharp(bytes, { failOn })
      .raw()
      .toBuffer()
      .then(
        () => "",
        (e: Error) => clean(e.message),
      ),
  );
  explaining = retry;
  const again = await retry;
  if (!vague(again)) return again;
  return reason === "" ? "damaged image data (the decoder gave no reason)" : reason;
}

/** The name an error about `source` uses: its path, or the name given with its bytes. */
export function sourceName(source: ImageSource): string {
  if (typeof source === "string") return source;
  if ("path" in source) return source.path;
  return source.name ?? "<image bytes>";
}
