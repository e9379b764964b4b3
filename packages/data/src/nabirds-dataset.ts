import { join } from "node:path";
import { type BoundingBox, ListedImageDataset } from "./listed-image-dataset.js";
import { type NABirdsClass, type NABirdsOpenOptions, type NABirdsTables, loadNABirdsTables } from "./nabirds-load.js";

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
export class NABirdsDataset extends ListedImageDataset<NABirdsTables> {
  protected readonly kind = "NABirdsDataset";
  private readonly leaves: NABirdsClass[];
  private readonly leafIndex: Map<number, number>;

  private constructor(t: NABirdsTables, indices: Int32Array, leaves?: NABirdsClass[]) {
    super(t, indices);
    this.leaves = leaves ?? t.classes.filter((c) => !t.children.has(c.id));
    this.leafIndex = new Map(this.leaves.map((c, i) => [c.id, i]));
  }

  protected view(indices: Int32Array): this {
    return new NABirdsDataset(this.t, indices, this.leaves) as this;
  }

  /** Hold-outs stratify by leaf class. */
  protected stratumOf(k: number): number {
    return this.t.imageClass[k]!;
  }

  /**
   * Reads and validates a NABirds folder: `root` holds `nabirds/` or is that folder. Errors name the file and
   * line. `{ checkFiles: false }` skips the check that every image exists (for a metadata-only copy).
   */
  static async open(root: string, options: NABirdsOpenOptions = {}): Promise<NABirdsDataset> {
    const t = await loadNABirdsTables(root, options);
    return new NABirdsDataset(t, Int32Array.from(t.imageIds.keys()));
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
    const k = this.row(i);
    const t = this.t;
    const classId = t.imageClass[k]!;
    const { path, relativePath, isTrain, bbox } = this.listedImage(k);
    const image: NABirdsImage = {
      imageId: t.imageIds[k]!,
      path,
      relativePath,
      classId,
      classIndex: this.leafIndex.get(classId)!,
      className: this.classById(classId).name,
      isTrain,
    };
    if (bbox) image.bbox = bbox;
    if (t.sizes) image.size = { width: t.sizes[k * 2]!, height: t.sizes[k * 2 + 1]! };
    return image;
  }
}

export type { NABirdsClass, NABirdsOpenOptions };
