import { tf } from "@birdvlm/core";
import { type ColorJitterOptions, sampleColorJitter } from "./color-jitter.js";
import { type Region, centerCropRegion, randomResizedCropRegion } from "./crop-geometry.js";
import { DataLoader, type DataLoaderOptions } from "./data-loader.js";
import type { ImageLoaderBatch, LabelledImage } from "./image-loader.js";
import { DEFAULT_CROP_PCT, IMAGENET_MEAN, IMAGENET_STD } from "./image-pipeline.js";
import type { PixelCache } from "./pixel-cache.js";
import { type CropAugmentation, augmentInto, augmentScratch } from "./uint8-augment.js";

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

/** Options of {@link createCachedImageLoader}: a {@link DataLoader}'s, with the cache and augmentation. */
export type CachedImageLoaderOptions<T> = Omit<
  DataLoaderOptions<T, Float32Array, ImageLoaderBatch<T>>,
  "transform" | "collate"
> & {
  /** Holds dataset position `i`'s pixels at position `i`. */
  cache: PixelCache;
  augment: CachedAugmentOptions;
};

/**
 * A {@link DataLoader} over a {@link PixelCache}: each item's stored uint8 pixels are cropped, resized,
 * flipped, jittered and normalized in one pass ({@link augmentInto}), with the random choices (drawn as
 * `ImagePipeline` draws them) seeded by the loader's seed, the epoch and the item's index. Batches are
 * `ImageBatch` `[B, size, size, 3]` with int32 labels `[B]`, as {@link createImageLoader}'s.
 */
export function createCachedImageLoader<T extends LabelledImage>(
  options: CachedImageLoaderOptions<T>,
): DataLoader<T, Float32Array, ImageLoaderBatch<T>> {
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
  return new DataLoader<T, Float32Array, ImageLoaderBatch<T>>({
    ...rest,
    transform: async (item, { index, rng }) => {
      const px = await cache.read(index);
      const full: Region = { left: 0, top: 0, width: px.width, height: px.height };
      let aug: CropAugmentation;
      if (a.mode === "train") {
        const region = randomResizedCropRegion(full, rng, a.scale, a.ratio);
        const flipped = rng.float() < a.flipProbability;
        aug = { region, flipped, jitter: a.colorJitter ? sampleColorJitter(a.colorJitter, rng) : undefined };
      } else aug = { region: centerCropRegion(full, a.cropPct), flipped: false };
      const out = new Float32Array(length);
      try {
        augmentInto(px, aug, S, a.mean, a.std, out, 0, scratch);
      } catch (e) {
        throw new Error(`${item.path}: ${(e as Error).message}`);
      }
      return out;
    },
    collate: (samples, items) => {
      const data = new Float32Array(samples.length * length);
      samples.forEach((s, i) => data.set(s, i * length));
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
