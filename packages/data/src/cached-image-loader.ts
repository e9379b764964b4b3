import { nativePixelOps, tf } from "@birdvlm/core";
import { type ColorJitterOptions, sampleColorJitter } from "./color-jitter.js";
import { type Region, centerCropRegion, randomResizedCropRegion } from "./crop-geometry.js";
import { DataLoader, type DataLoaderOptions } from "./data-loader.js";
import type { ImageLoaderBatch, LabelledImage } from "./image-loader.js";
import { DEFAULT_CROP_PCT, IMAGENET_MEAN, IMAGENET_STD } from "./image-pipeline.js";
import { augmentBatchNative } from "./native-augment.js";
import type { PixelCache } from "./pixel-cache.js";
import { type CropAugmentation, type RgbPixels, augmentInto, augmentScratch } from "./uint8-augment.js";

/** The augmentation of a {@link createCachedImageLoader}; plain data with defaults (those of `ImagePipeline`). */
export interface CachedAugmentOptions {
  /** Output height and width. */
  size: number;
  /** `train`: random-resized-crop, flip, colour jitter; `eval`: center crop. Default `eval`. */
  mode?: "train" | "eval";
  mean?: [number, number, number];
  std?: [number, number, number];
  /** Eval: fraction of the shorter side the center crop keeps. Default 0.875. */
  cropPct?: number;
  /** Train: area fraction range of random-resized-crop. Default `[0.08, 1]`. */
  scale?: [number, number];
  /** Train: aspect ratio range. Default `[3/4, 4/3]`. */
  ratio?: [number, number];
  /** Train: probability of a horizontal flip. Default 0.5. */
  flipProbability?: number;
  /** Train: colour jitter, or `false`. Default brightness, contrast and saturation 0.4. */
  colorJitter?: ColorJitterOptions | false;
}

/** One item between a {@link createCachedImageLoader}'s transform and its collate: its stored pixels and draws. */
export interface CachedSample {
  pixels: RgbPixels;
  augmentation: CropAugmentation;
}

/** Options of {@link createCachedImageLoader}: a {@link DataLoader}'s, with the cache and augmentation. */
export type CachedImageLoaderOptions<T> = Omit<
  DataLoaderOptions<T, CachedSample, ImageLoaderBatch<T>>,
  "transform" | "collate"
> & {
  /** Holds dataset position `i`'s pixels at position `i`. */
  cache: PixelCache;
  augment: CachedAugmentOptions;
};

/**
 * A {@link DataLoader} over a {@link PixelCache}: each item's stored uint8 pixels are cropped, resized,
 * flipped, jittered and normalized in one pass ({@link augmentInto}, in the native addon where it loads), with the random choices (drawn as
 * `ImagePipeline` draws them) seeded by the loader's seed, the epoch and the item's index. Batches are
 * `ImageBatch` `[B, size, size, 3]` with int32 labels `[B]`, as {@link createImageLoader}'s.
 */
export function createCachedImageLoader<T extends LabelledImage>(
  options: CachedImageLoaderOptions<T>,
): DataLoader<T, CachedSample, ImageLoaderBatch<T>> {
  const { cache, augment, ...rest } = options;
  const a = {
    mode: "eval" as const,
    mean: IMAGENET_MEAN,
    std: IMAGENET_STD,
    cropPct: DEFAULT_CROP_PCT,
    scale: [0.08, 1] as [number, number],
    ratio: [3 / 4, 4 / 3] as [number, number],
    flipProbability: 0.5,
    colorJitter: { brightness: 0.4, contrast: 0.4, saturation: 0.4 } as ColorJitterOptions | false,
    ...augment,
  };
  const S = a.size;
  if (!Number.isInteger(S) || S < 1)
    throw new Error(`createCachedImageLoader: size must be a positive integer, got ${S}`);
  const length = S * S * 3;
  const dataset = rest.dataset;
  const count = "size" in dataset && typeof dataset.size === "number" ? dataset.size : (dataset as T[]).length;
  if (count !== cache.size)
    throw new Error(`createCachedImageLoader: the dataset has ${count} images, the cache ${cache.size}`);
  const scratch = augmentScratch(S);
  const ops = nativePixelOps(); // the addon's augmentation when it loads (same floats, the threads), else the JavaScript
  let batchScratch = new Float32Array(0);
  return new DataLoader<T, CachedSample, ImageLoaderBatch<T>>({
    ...rest,
    // The transform reads the pixels and draws the item's augmentation; the collate writes every item straight
    // into the batch's buffer (no array per item, no copy).
    transform: async (item, { index, rng }) => {
      const pixels = await cache.read(index);
      const full: Region = { left: 0, top: 0, width: pixels.width, height: pixels.height };
      if (a.mode !== "train")
        return { pixels, augmentation: { region: centerCropRegion(full, a.cropPct), flipped: false } };
      const region = randomResizedCropRegion(full, rng, a.scale, a.ratio);
      const flipped = rng.float() < a.flipProbability;
      const jitter = a.colorJitter ? sampleColorJitter(a.colorJitter, rng) : undefined;
      return { pixels, augmentation: { region, flipped, jitter } };
    },
    collate: (samples, items) => {
      const data = new Float32Array(samples.length * length);
      if (ops) {
        if (batchScratch.length < data.length) batchScratch = new Float32Array(data.length);
        augmentBatchNative(ops, samples, S, a.mean, a.std, data, batchScratch, (i) => items[i]!.path);
      } else {
        samples.forEach(({ pixels, augmentation }, i) => {
          try {
            augmentInto(pixels, augmentation, S, a.mean, a.std, data, i * length, scratch);
          } catch (e) {
            throw new Error(`${items[i]!.path}: ${(e as Error).message}`);
          }
        });
      }
      return {
        images: tf.tensor4d(data, [samples.length, S, S, 3], "float32"),
        labels: tf.tensor1d(
          Int32Array.from(items, (it) => it.classIndex),
          "int32",
        ),
        items,
      };
    },
  });
}
