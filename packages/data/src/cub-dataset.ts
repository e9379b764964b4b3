import { join } from "node:path";
import type { CubAttribute } from "./cub-attribute.js";
import { type CubClass, type CubOpenOptions, type CubPart, type CubTables, loadCubTables } from "./cub-load.js";
import { type BoundingBox, ListedImageDataset } from "./listed-image-dataset.js";

export type { BoundingBox };

/** One part location of one image (`parts/part_locs.txt`). */
export interface CubPartLocation {
  partId: number;
  name: string;
  x: number;
  y: number;
  visible: boolean;
}

/** One image of a {@link CubDataset}. */
export interface CubImage {
  /** The id in `images.txt`. */
  imageId: number;
  /** Absolute path of the image file. */
  path: string;
  /** Path relative to the dataset's `images/` folder, as in `images.txt` (the LLaVA `image` field). */
  relativePath: string;
  /** CUB class id (1-based, CUB's own numbering). */
  classId: number;
  /** Index of the class in `dataset.classes` (0-based, contiguous): the classifier target. */
  classIndex: number;
  /** Folder name of the class, e.g. `001.Black_footed_Albatross`. */
  className: string;
  /** Readable species name, e.g. `Black-footed Albatross`. */
  label: string;
  isTrain: boolean;
  bbox?: BoundingBox;
  parts?: CubPartLocation[];
}

/** A class-level attribute value: the percentage of annotators who saw the attribute in the class's images. */
export interface CubClassAttributeValue extends CubAttribute {
  /** Percentage in [0, 100]. */
  percent: number;
}

/** An image-level attribute label (`attributes/image_attribute_labels.txt`). */
export interface CubImageAttributeLabel extends CubAttribute {
  present: boolean;
  /** Certainty id (1 not visible, 2 guessing, 3 probably, 4 definitely in CUB), 0 when the image has no label. */
  certainty: number;
  /** The certainty's name from `certainties.txt`, when that file exists. */
  certaintyName?: string;
}

/**
 * The CUB-200-2011 dataset (or any folder in its layout: a subset, SynthBirds): images, classes, split,
 * and, when their files exist, bounding boxes, part locations, class-level and image-level attributes.
 *
 * ```ts
 * const cub = await CubDataset.open("../shared/data/cub-subset-train");
 * cub.size;                 // 2999
 * cub.get(0).label;         // "Black-footed Albatross"
 * const train = cub.split("train");
 * ```
 */
export class CubDataset extends ListedImageDataset<CubTables> {
  protected readonly kind = "CubDataset";

  private constructor(t: CubTables, indices: Int32Array) {
    super(t, indices);
  }

  protected view(indices: Int32Array): this {
    return new CubDataset(this.t, indices) as this;
  }

  protected stratumOf(k: number): number {
    return this.t.classIndex[k]!;
  }

  /**
   * Reads and validates a CUB-200-2011 folder: `root` holds `CUB_200_2011/` or is that folder.
   * Errors name the file and line (malformed line, duplicated id, label of an unknown class, image listed but
   * missing on disk, the first few named; `{ checkFiles: false }` skips the disk check).
   */
  static async open(root: string, options: CubOpenOptions = {}): Promise<CubDataset> {
    const t = await loadCubTables(root, options);
    return new CubDataset(t, Int32Array.from(t.imageIds.keys()));
  }

  /** Every class of the dataset, in `classes.txt` order (also in a split view). */
  get classes(): readonly CubClass[] {
    return this.t.classes;
  }

  /** The attributes of `attributes.txt`, when it exists. */
  get attributes(): readonly CubAttribute[] | undefined {
    return this.t.attributes;
  }

  /** The parts of `parts/parts.txt`, when part locations exist. */
  get parts(): readonly CubPart[] | undefined {
    return this.t.parts;
  }

  /** Certainty names of `attributes/certainties.txt` (index `id - 1`), when it exists. */
  get certainties(): readonly string[] | undefined {
    return this.t.certainties;
  }

  get hasClassAttributes(): boolean {
    return this.t.classAttributes !== undefined;
  }

  get hasImageAttributes(): boolean {
    return this.t.imageAttributePresent !== undefined;
  }

  /** The `i`-th image of this view (0-based). */
  get(i: number): CubImage {
    const k = this.row(i);
    const t = this.t;
    const c = t.classes[t.classIndex[k]!]!;
    const { path, relativePath, isTrain, bbox } = this.listedImage(k);
    const image: CubImage = {
      imageId: t.imageIds[k]!,
      path,
      relativePath,
      classId: c.id,
      classIndex: t.classIndex[k]!,
      className: c.name,
      label: c.label,
      isTrain,
    };
    if (bbox) image.bbox = bbox;
    if (t.parts && t.partLocs) {
      const P = t.parts.length;
      image.parts = t.parts.map((p, j) => {
        const o = (k * P + j) * 3;
        return {
          partId: p.id,
          name: p.name,
          x: t.partLocs![o]!,
          y: t.partLocs![o + 1]!,
          visible: t.partLocs![o + 2] === 1,
        };
      });
    }
    return image;
  }

  /** Position in this view of the image with `imageId`, or -1. */
  indexOf(imageId: number): number {
    for (let i = 0; i < this.indices.length; i++) if (this.t.imageIds[this.indices[i]!] === imageId) return i;
    return -1;
  }

  /** The class with this CUB class id. */
  classById(classId: number): CubClass {
    const c = this.t.classes.find((x) => x.id === classId);
    if (!c) throw new Error(`CubDataset: no class ${classId} in ${join(this.t.dir, "classes.txt")}`);
    return c;
  }

  /**
   * Class-level attributes of a class (`attributes/class_attribute_labels_continuous.txt`, row `classId - 1`):
   * one value per attribute of `attributes.txt` (312 in CUB).
   */
  classAttributes(classId: number): CubClassAttributeValue[] {
    const t = this.t;
    if (!t.attributes || !t.classAttributes)
      throw new Error(
        `CubDataset: ${t.dir} has no attributes.txt and attributes/class_attribute_labels_continuous.txt`,
      );
    this.classById(classId);
    const A = t.attributes.length;
    const row = classId - 1;
    return t.attributes.map((a, j) => ({ ...a, percent: t.classAttributes![row * A + j]! }));
  }

  /** Image-level attribute labels of an image (`attributes/image_attribute_labels.txt`), one per attribute. */
  imageAttributes(imageId: number): CubImageAttributeLabel[] {
    const t = this.t;
    if (!t.attributes || !t.imageAttributePresent || !t.imageAttributeCertainty)
      throw new Error(`CubDataset: ${t.dir} has no attributes/image_attribute_labels.txt`);
    const k = t.imageIndex.get(imageId);
    if (k === undefined) throw new Error(`CubDataset: no image ${imageId} in ${join(t.dir, "images.txt")}`);
    const A = t.attributes.length;
    return t.attributes.map((a, j) => {
      const certainty = t.imageAttributeCertainty![k * A + j]!;
      const label: CubImageAttributeLabel = { ...a, present: t.imageAttributePresent![k * A + j] === 1, certainty };
      const name = t.certainties?.[certainty - 1];
      if (name !== undefined) label.certaintyName = name;
      return label;
    });
  }
}

export type { CubClass, CubOpenOptions, CubPart };
