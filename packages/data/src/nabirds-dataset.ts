import { join } from "node:path";
import type { BoundingBox } from "./cub-dataset.js";
import { type NABirdsClass, type NABirdsOpenOptions, type NABirdsTables, loadNABirdsTables } from "./nabirds-load.js";
import { stratifiedSplit } from "./stratified-split.js";

/** One image of a {@link NABirdsDataset}. */
export interface NABirdsImage {
  /** The image id (a UUID in NABirds). */
  imageId: string;
  /** Absolute path of the image file. */
  path: string;
  /** Path relative to the dataset's `images/` folder. */
  relativePath: string;
  /** The leaf class (visual category) id, e.g. 295 `Common Eider (Adult male)`. */
  classId: number;
  /** Index of the class in `leafClasses()` (0-based, contiguous): the classifier target. */
  classIndex: number;
  className: string;
  isTrain: boolean;
  bbox?: BoundingBox;
  /** Image size from `sizes.txt`. */
  size?: { width: number; height: number };
}

/**
 * The NABirds dataset: images, split, boxes, sizes, and the class hierarchy (`hierarchy.txt`) from visual
 * categories (`Common Eider (Adult male)`) through species (`Common Eider`) and groups
 * (`Ducks, Geese, and Swans`) to the root (`Birds`).
 */
export class NABirdsDataset {
  private readonly leaves: NABirdsClass[];
  private readonly leafIndex: Map<number, number>;

  private constructor(
    private readonly t: NABirdsTables,
    private readonly indices: Int32Array,
    leaves?: NABirdsClass[],
  ) {
    this.leaves = leaves ?? t.classes.filter((c) => !t.children.has(c.id));
    this.leafIndex = new Map(this.leaves.map((c, i) => [c.id, i]));
  }

  /**
   * Reads and validates a NABirds folder: `root` holds `nabirds/` or is that folder. Errors name the file and
   * line. `{ checkFiles: false }` skips the check that every image exists (for a metadata-only copy).
   */
  static async open(root: string, options: NABirdsOpenOptions = {}): Promise<NABirdsDataset> {
    const t = await loadNABirdsTables(root, options);
    return new NABirdsDataset(t, Int32Array.from(t.imageIds.keys()));
  }

  get dir(): string {
    return this.t.dir;
  }

  /** The folder that image paths are relative to (`<dir>/images`). */
  get imagesDir(): string {
    return join(this.t.dir, "images");
  }

  get size(): number {
    return this.indices.length;
  }

  /** Every node of the hierarchy, in `classes.txt` order. */
  get classes(): readonly NABirdsClass[] {
    return this.t.classes;
  }

  /** The classes with no children (the visual categories images are labelled with), in `classes.txt` order. */
  leafClasses(): NABirdsClass[] {
    return [...this.leaves];
  }

  classById(classId: number): NABirdsClass {
    const c = this.t.classById.get(classId);
    if (!c) throw new Error(`NABirdsDataset: no class ${classId} in ${join(this.t.dir, "classes.txt")}`);
    return c;
  }

  /** The ancestors of a class, nearest first, ending at the root (`[Common Eider, Ducks..., Birds]`). */
  ancestors(classId: number): NABirdsClass[] {
    const out: NABirdsClass[] = [];
    for (let c = this.classById(classId); c.parentId !== undefined;) {
      c = this.classById(c.parentId);
      out.push(c);
    }
    return out;
  }

  /** The direct children of a class. */
  children(classId: number): NABirdsClass[] {
    return (this.t.children.get(classId) ?? []).map((id) => this.classById(id));
  }

  /**
   * The species of a leaf class: its parent when the leaf is a plumage or morph of it (`Common Eider (Adult
   * male)` under `Common Eider`, or `Oak Titmouse` under `Oak Titmouse`), else the leaf itself.
   */
  speciesOf(classId: number): NABirdsClass {
    const c = this.classById(classId);
    const parent = c.parentId === undefined ? undefined : this.classById(c.parentId);
    return parent && c.name.replace(/\s*\(.*\)\s*$/, "") === parent.name ? parent : c;
  }

  /** The groups above a leaf's species, most specific first, without the root (`[Wood-Warblers, Perching Birds]`). */
  groupsOf(classId: number): NABirdsClass[] {
    const species = this.speciesOf(classId);
    return this.ancestors(species.id).filter((c) => c.parentId !== undefined);
  }

  /** The `i`-th image of this view (0-based). */
  get(i: number): NABirdsImage {
    if (!Number.isInteger(i) || i < 0 || i >= this.indices.length)
      throw new RangeError(`NABirdsDataset.get: index ${i} out of range [0, ${this.indices.length})`);
    const k = this.indices[i]!;
    const t = this.t;
    const classId = t.imageClass[k]!;
    const image: NABirdsImage = {
      imageId: t.imageIds[k]!,
      path: join(t.dir, "images", t.imageNames[k]!),
      relativePath: t.imageNames[k]!,
      classId,
      classIndex: this.leafIndex.get(classId)!,
      className: this.classById(classId).name,
      isTrain: t.isTrain[k] === 1,
    };
    if (t.boxes)
      image.bbox = {
        x: t.boxes[k * 4]!,
        y: t.boxes[k * 4 + 1]!,
        width: t.boxes[k * 4 + 2]!,
        height: t.boxes[k * 4 + 3]!,
      };
    if (t.sizes) image.size = { width: t.sizes[k * 2]!, height: t.sizes[k * 2 + 1]! };
    return image;
  }

  /** The images of the dataset's own train or test split, as a view. */
  split(which: "train" | "test"): NABirdsDataset {
    const want = which === "train" ? 1 : 0;
    return new NABirdsDataset(
      this.t,
      this.indices.filter((k) => this.t.isTrain[k] === want),
      this.leaves,
    );
  }

  /** Holds out `fraction` of each leaf class's images of this view (seeded, stratified) as a validation set. */
  holdout(fraction: number, seed = 0): { train: NABirdsDataset; validation: NABirdsDataset } {
    const labels = Array.from(this.indices, (k) => this.t.imageClass[k]!);
    const [keep, held] = stratifiedSplit(labels, fraction, seed);
    return { train: this.subset(keep), validation: this.subset(held) };
  }

  /** A view of the images at the given positions of this view. */
  subset(positions: ArrayLike<number>): NABirdsDataset {
    return new NABirdsDataset(
      this.t,
      Int32Array.from(positions, (i) => this.indices[i]!),
      this.leaves,
    );
  }
}

export type { NABirdsClass, NABirdsOpenOptions };
