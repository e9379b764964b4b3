import { join } from "node:path";
import { stratifiedSplit } from "./stratified-split.js";

/** A box `[x, y, width, height]` in pixels of the image as stored (CUB's `bounding_boxes.txt` convention). */
export interface BoundingBox {
  x: number;
  y: number;
  width: number;
  height: number;
}

/** What every listed-image format's tables hold, one entry per image in list order. */
export interface ListedImageTables {
  /** The dataset's folder (image paths are relative to `<dir>/images`). */
  dir: string;
  /** Image paths relative to `dir/images`. */
  imageNames: string[];
  /** 1 train, 0 test (the dataset's own split). */
  isTrain: Uint8Array;
  /** `[n, 4]` x, y, width, height, when the dataset has bounding boxes. */
  boxes?: Float32Array;
}

/** The fields every listed image has, whatever its format. */
export interface ListedImageBase {
  /** Absolute path of the image file. */
  path: string;
  /** Path relative to the dataset's `images/` folder, as listed. */
  relativePath: string;
  isTrain: boolean;
  bbox?: BoundingBox;
}

/** A view split in two by `holdout`. */
export interface Holdout<D> {
  train: D;
  validation: D;
}

/**
 * A view of a dataset that lists its images in text files (CUB-200-2011, NABirds): the tables read once, and the
 * positions of this view's images in them. Holds what the formats share (size, paths, the train/test split,
 * boxes, subsets and stratified hold-outs); each format adds its classes and annotations.
 */
export abstract class ListedImageDataset<T extends ListedImageTables> {
  protected constructor(
    protected readonly t: T,
    protected readonly indices: Int32Array,
  ) {}

  /** The same dataset over other table rows (a split, subset or hold-out of this one). */
  protected abstract view(indices: Int32Array): this;

  /** The class label of table row `k` that hold-outs stratify by. */
  protected abstract stratumOf(k: number): number;

  /** The class's name in error messages, e.g. `CubDataset`. */
  protected abstract readonly kind: string;

  /** The dataset's folder. */
  get dir(): string {
    return this.t.dir;
  }

  /** The folder that image paths are relative to (`<dir>/images`). */
  get imagesDir(): string {
    return join(this.t.dir, "images");
  }

  /** Number of images in this view. */
  get size(): number {
    return this.indices.length;
  }

  get hasBoundingBoxes(): boolean {
    return this.t.boxes !== undefined;
  }

  /** The images of the dataset's own train or test split, as a view. */
  split(which: "train" | "test"): this {
    const want = which === "train" ? 1 : 0;
    return this.view(this.indices.filter((k) => this.t.isTrain[k] === want));
  }

  /** A view of the images at the given positions of this view. */
  subset(positions: ArrayLike<number>): this {
    return this.view(Int32Array.from(positions, (i) => this.row(i)));
  }

  /**
   * Holds out `fraction` of each class's images of this view (seeded, stratified) as a validation set, e.g.
   * `cub.split("train").holdout(0.1, 0)` for a subset whose test half is kept elsewhere.
   */
  holdout(fraction: number, seed = 0): Holdout<this> {
    const labels = Array.from(this.indices, (k) => this.stratumOf(k));
    const [keep, held] = stratifiedSplit(labels, fraction, seed);
    return { train: this.subset(keep), validation: this.subset(held) };
  }

  /** Table row of the `i`-th image of this view (a RangeError outside it). */
  protected row(i: number): number {
    if (!Number.isInteger(i) || i < 0 || i >= this.indices.length)
      throw new RangeError(`${this.kind}.get: index ${i} out of range [0, ${this.indices.length})`);
    return this.indices[i]!;
  }

  /** The fields of table row `k` that every format has: path, relative path, split, box. */
  protected listedImage(k: number): ListedImageBase {
    const t = this.t;
    const image: ListedImageBase = {
      path: join(t.dir, "images", t.imageNames[k]!),
      relativePath: t.imageNames[k]!,
      isTrain: t.isTrain[k] === 1,
    };
    if (t.boxes)
      image.bbox = {
        x: t.boxes[k * 4]!,
        y: t.boxes[k * 4 + 1]!,
        width: t.boxes[k * 4 + 2]!,
        height: t.boxes[k * 4 + 3]!,
      };
    return image;
  }
}
