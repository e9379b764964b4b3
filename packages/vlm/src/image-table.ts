import { tf, type ImageBatch } from "@birdvlm/core";
import type { ImageSource } from "@birdvlm/data";
import { toImageBatch, type ImagePreprocessing } from "./image-input.js";

/**
 * Images held in memory as one normalized `[N,S,S,3]` tensor, addressed by id: the training and evaluation
 * stages of small datasets (SynthBirds, a CUB subset at low resolution) read batches from it without decoding again.
 */
export class ImageTable {
  private readonly index = new Map<string, number>();

  private constructor(
    readonly ids: string[],
    readonly images: tf.Tensor4D,
  ) {
    ids.forEach((id, i) => {
      if (this.index.has(id)) throw new Error(`ImageTable: image id '${id}' appears twice`);
      this.index.set(id, i);
    });
  }

  /**
   * Decodes `sources` (one per id: a path, or `{ path, bbox }`) with the encoder's preprocessing, 64 at a time;
   * `cropToBox` crops each to its bounding box first.
   */
  static async fromFiles(
    ids: string[],
    paths: ImageSource[],
    pre: ImagePreprocessing,
    options: { cropToBox?: boolean; onProgress?: (done: number) => void } = {},
  ): Promise<ImageTable> {
    if (ids.length !== paths.length) throw new Error(`ImageTable: ${ids.length} ids but ${paths.length} paths`);
    const parts: tf.Tensor4D[] = [];
    const onProgress = options.onProgress;
    for (let i = 0; i < paths.length; i += 64) {
      parts.push(await toImageBatch(paths.slice(i, i + 64), pre, { cropToBox: options.cropToBox }));
      onProgress?.(Math.min(i + 64, paths.length));
    }
    const images = parts.length === 1 ? parts[0]! : tf.concat(parts, 0);
    if (parts.length > 1) for (const p of parts) p.dispose();
    return new ImageTable(ids, images);
  }

  /** Wraps an existing `[N,S,S,3]` tensor (the table takes ownership). */
  static fromTensor(ids: string[], images: tf.Tensor4D): ImageTable {
    if (images.shape[0] !== ids.length) throw new Error(`ImageTable: ${ids.length} ids but ${images.shape[0]} images`);
    return new ImageTable(ids, images);
  }

  get size(): number {
    return this.ids.length;
  }

  has(id: string): boolean {
    return this.index.has(id);
  }

  /** The images of `ids`, in order: `[ids.length,S,S,3]`; the caller disposes it. */
  gather(ids: readonly string[]): ImageBatch {
    const idx = ids.map((id) => {
      const i = this.index.get(id);
      if (i === undefined) throw new Error(`ImageTable: no image with id '${id}'`);
      return i;
    });
    return tf.tidy(() => tf.gather(this.images, tf.tensor1d(idx, "int32")) as ImageBatch);
  }

  dispose(): void {
    this.images.dispose();
  }
}
