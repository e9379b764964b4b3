import { type ImageBatch, tf } from "@birdvlm/core";
import type { BoundingBox } from "./cub-dataset.js";
import { DataLoader, type DataLoaderOptions } from "./data-loader.js";
import type { ImagePipeline } from "./image-pipeline.js";

/** An image with a class: what `CubDataset.get` and `NABirdsDataset.get` return. */
export interface LabelledImage {
  path: string;
  bbox?: BoundingBox;
  /** 0-based class index, the classifier target. */
  classIndex: number;
}

/** A batch of images and their labels; the consumer disposes `images` and `labels`. */
export interface ImageLoaderBatch<T> {
  /** `[B, size, size, 3]` float32, normalized. */
  images: ImageBatch;
  /** `[B]` int32 class indices. */
  labels: tf.Tensor1D;
  /** The dataset items of the batch, in order. */
  items: T[];
}

/** Options of {@link createImageLoader}: a {@link DataLoader}'s, with the pipeline instead of transform/collate. */
export type ImageLoaderOptions<T> = Omit<
  DataLoaderOptions<T, Float32Array, ImageLoaderBatch<T>>,
  "transform" | "collate"
> & {
  pipeline: ImagePipeline;
};

/**
 * A {@link DataLoader} of labelled images through an {@link ImagePipeline}: each batch is an `ImageBatch`
 * `[B, size, size, 3]` with its int32 labels `[B]`, decoded ahead of the consumer; the augmentation of each
 * image is seeded by the loader's seed, the epoch and the image's index.
 *
 * ```ts
 * const loader = createImageLoader({ dataset: cub.split("train"), pipeline: new ImagePipeline({ size: 224, mode: "train" }),
 *   batchSize: 32, shuffle: true, seed: 1 });
 * for await (const { images, labels } of loader) { ...; images.dispose(); labels.dispose(); }
 * ```
 */
export function createImageLoader<T extends LabelledImage>(
  options: ImageLoaderOptions<T>,
): DataLoader<T, Float32Array, ImageLoaderBatch<T>> {
  const { pipeline, ...rest } = options;
  return new DataLoader<T, Float32Array, ImageLoaderBatch<T>>({
    ...rest,
    transform: (item, { rng }) => pipeline.load(item.bbox ? { path: item.path, bbox: item.bbox } : item.path, rng),
    collate: (samples, items) => {
      const data = new Float32Array(samples.length * pipeline.imageLength);
      samples.forEach((s, i) => data.set(s, i * pipeline.imageLength));
      return {
        images: pipeline.toBatch(data, samples.length),
        labels: tf.tensor1d(
          Int32Array.from(items, (it) => it.classIndex),
          "int32",
        ),
        items,
      };
    },
  });
}
