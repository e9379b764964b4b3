import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { DataFormatError } from "./data-format-error.js";
import { checkListedImages, listedImageName } from "./listed-images.js";
import {
  expectFields,
  IdRegistry,
  idAndRest,
  intField,
  numberField,
  optionalFile,
  readTable,
  type TableRow,
} from "./text-table.js";

/** A node of the NABirds class hierarchy: a visual category (leaf), a species, or a group. */
export interface NABirdsClass {
  /** Class id from `classes.txt` (0 is the root, "Birds"). */
  id: number;
  /** The name as written, e.g. `Common Eider (Adult male)`, `Ducks, Geese, and Swans`. */
  name: string;
  /** Parent id from `hierarchy.txt`; absent for the root. */
  parentId?: number;
}

/** Everything read from a NABirds folder, in flat arrays indexed by image position in `images.txt`. */
export interface NABirdsTables {
  dir: string;
  imageIds: string[];
  imageNames: string[];
  imageClass: Int32Array;
  isTrain: Uint8Array;
  classes: NABirdsClass[];
  classById: Map<number, NABirdsClass>;
  children: Map<number, number[]>;
  /** `[n, 4]` x, y, width, height, when `bounding_boxes.txt` exists. */
  boxes?: Float32Array;
  /** `[n, 2]` width, height, when `sizes.txt` exists. */
  sizes?: Float32Array;
}

/** Options of `NABirdsDataset.open`. */
export interface NABirdsOpenOptions {
  /** Check that every listed image exists on disk. Default `true`; `false` for a metadata-only copy. */
  checkFiles?: boolean;
}

/** Finds the NABirds folder: `root` itself or `root/nabirds`. */
export function findNABirdsDir(root: string): string {
  const abs = resolve(root);
  for (const dir of [join(abs, "nabirds"), abs])
    if (existsSync(join(dir, "images.txt")) && existsSync(join(dir, "hierarchy.txt"))) return dir;
  throw new DataFormatError(
    abs,
    "not a NABirds folder: neither it nor its nabirds/ holds images.txt and hierarchy.txt",
  );
}

/** Reads and validates the NABirds metadata files under `root`. */
export async function loadNABirdsTables(root: string, options: NABirdsOpenOptions = {}): Promise<NABirdsTables> {
  const dir = findNABirdsDir(root);
  const imagesPath = join(dir, "images.txt");
  const imageIds: string[] = [];
  const imageNames: string[] = [];
  const imageLines: number[] = [];
  const index = new Map<string, number>();
  const seen = new IdRegistry<string>(imagesPath, "image id");
  for await (const row of readTable(imagesPath)) {
    expectFields(imagesPath, row, 2, "<image_id> <image_path>");
    const id = row.fields[0]!;
    seen.add(id, row);
    index.set(id, imageIds.length);
    imageIds.push(id);
    imageNames.push(listedImageName(imagesPath, row));
    imageLines.push(row.line);
  }
  const n = imageIds.length;
  const imageAt = (path: string, row: TableRow): number => {
    const i = index.get(row.fields[0]!);
    if (i === undefined) throw new DataFormatError(path, `image ${row.fields[0]} is not in images.txt`, row.line);
    return i;
  };
  /** Reads a per-image file, checking every image appears exactly once. */
  const perImage = async (
    path: string,
    fields: number,
    layout: string,
    each: (i: number, row: TableRow) => void,
  ): Promise<void> => {
    const once = new IdRegistry<string>(path, "image id");
    for await (const row of readTable(path)) {
      expectFields(path, row, fields, layout);
      const i = imageAt(path, row);
      once.add(imageIds[i]!, row);
      each(i, row);
    }
    if (once.size !== n) {
      const i = imageIds.findIndex((id) => !once.has(id));
      throw new DataFormatError(
        path,
        `image ${imageIds[i]} (images.txt line ${imageLines[i]}) is not listed: ${once.size} of ${n} images are`,
      );
    }
  };

  const classesPath = join(dir, "classes.txt");
  const classes: NABirdsClass[] = [];
  const classById = new Map<number, NABirdsClass>();
  const seenClasses = new IdRegistry<number>(classesPath, "class id");
  for await (const row of readTable(classesPath)) {
    const [idText, name] = idAndRest(classesPath, row, "<class_id> <class_name>");
    const id = Number(idText);
    if (!Number.isInteger(id))
      throw new DataFormatError(classesPath, `class id must be an integer, got ${JSON.stringify(idText)}`, row.line);
    seenClasses.add(id, row);
    const c: NABirdsClass = { id, name };
    classes.push(c);
    classById.set(id, c);
  }

  const hierarchyPath = join(dir, "hierarchy.txt");
  const children = new Map<number, number[]>();
  const seenChildren = new IdRegistry<number>(hierarchyPath, "child class id");
  for await (const row of readTable(hierarchyPath)) {
    expectFields(hierarchyPath, row, 2, "<child_id> <parent_id>");
    const child = intField(hierarchyPath, row, 0, "child id");
    const parent = intField(hierarchyPath, row, 1, "parent id");
    seenChildren.add(child, row);
    const c = classById.get(child);
    if (!c) throw new DataFormatError(hierarchyPath, `class ${child} is not in classes.txt`, row.line);
    if (!classById.has(parent))
      throw new DataFormatError(hierarchyPath, `parent class ${parent} is not in classes.txt`, row.line);
    c.parentId = parent;
    children.set(parent, [...(children.get(parent) ?? []), child]);
  }
  for (const c of classes) {
    // Walk to the root: a cycle would make ancestors() loop forever.
    const path = new Set<number>();
    for (let x: NABirdsClass | undefined = c; x?.parentId !== undefined; x = classById.get(x.parentId)) {
      if (path.has(x.id)) throw new DataFormatError(hierarchyPath, `the hierarchy has a cycle through class ${x.id}`);
      path.add(x.id);
    }
  }

  const labelsPath = join(dir, "image_class_labels.txt");
  const imageClass = new Int32Array(n);
  await perImage(labelsPath, 2, "<image_id> <class_id>", (i, row) => {
    const id = intField(labelsPath, row, 1, "class id");
    if (!classById.has(id))
      throw new DataFormatError(labelsPath, `class ${id} of image ${imageIds[i]} is not in classes.txt`, row.line);
    if (children.has(id))
      throw new DataFormatError(
        labelsPath,
        `image ${imageIds[i]} is labelled with class ${id}, which is not a leaf of hierarchy.txt`,
        row.line,
      );
    imageClass[i] = id;
  });

  const splitPath = join(dir, "train_test_split.txt");
  const isTrain = new Uint8Array(n);
  await perImage(splitPath, 2, "<image_id> <is_training_image>", (i, row) => {
    const v = intField(splitPath, row, 1, "is_training_image");
    if (v !== 0 && v !== 1)
      throw new DataFormatError(splitPath, `is_training_image must be 0 or 1, got ${v}`, row.line);
    isTrain[i] = v;
  });

  const tables: NABirdsTables = { dir, imageIds, imageNames, imageClass, isTrain, classes, classById, children };
  const boxesPath = optionalFile(join(dir, "bounding_boxes.txt"));
  if (boxesPath) {
    const boxes = new Float32Array(n * 4);
    await perImage(boxesPath, 5, "<image_id> <x> <y> <width> <height>", (i, row) => {
      for (let k = 0; k < 4; k++)
        boxes[i * 4 + k] = numberField(boxesPath, row, k + 1, ["x", "y", "width", "height"][k]!);
    });
    tables.boxes = boxes;
  }
  const sizesPath = optionalFile(join(dir, "sizes.txt"));
  if (sizesPath) {
    const sizes = new Float32Array(n * 2);
    await perImage(sizesPath, 3, "<image_id> <width> <height>", (i, row) => {
      sizes[i * 2] = numberField(sizesPath, row, 1, "width");
      sizes[i * 2 + 1] = numberField(sizesPath, row, 2, "height");
    });
    tables.sizes = sizes;
  }
  if (options.checkFiles ?? true) await checkListedImages(imagesPath, join(dir, "images"), imageNames, imageLines);
  return tables;
}
