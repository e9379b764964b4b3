import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { type CubAttribute, parseCubAttributeName, readableCubClassName } from "./cub-attribute.js";
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

/** A CUB class: `{ id: 1, name: '001.Black_footed_Albatross', label: 'Black-footed Albatross' }`. */
export interface CubClass {
  /** 1-based class id from `classes.txt` (CUB's own ids, also in a subset). */
  id: number;
  /** The folder name as in `classes.txt`. */
  name: string;
  /** The readable species name. */
  label: string;
}

/** A CUB part, from `parts/parts.txt` (`{ id: 2, name: 'beak' }`). */
export interface CubPart {
  id: number;
  name: string;
}

/** Everything read from a CUB-200-2011 folder, in flat arrays indexed by image position in `images.txt`. */
export interface CubTables {
  /** The `CUB_200_2011` folder. */
  dir: string;
  imageIds: number[];
  /** Image id → index. */
  imageIndex: Map<number, number>;
  /** Image paths relative to `dir/images`. */
  imageNames: string[];
  /** Index into `classes` of each image. */
  classIndex: Int32Array;
  isTrain: Uint8Array;
  classes: CubClass[];
  /** `[n, 4]` x, y, width, height; present when `bounding_boxes.txt` is. */
  boxes?: Float32Array;
  parts?: CubPart[];
  /** `[n, parts, 3]` x, y, visible; present when both parts files are. */
  partLocs?: Float32Array;
  attributes?: CubAttribute[];
  certainties?: string[];
  /** `[rows, attributes]` percentages, row `classId - 1`. */
  classAttributes?: Float32Array;
  classAttributeRows?: number;
  /** `[n, attributes]`: 1 present, 0 absent; with `imageAttributeCertainty` the certainty id (0 when unlabelled). */
  imageAttributePresent?: Uint8Array;
  imageAttributeCertainty?: Uint8Array;
}

/** Options of `CubDataset.open`. */
export interface CubOpenOptions {
  /** Check that every listed image exists on disk. Default `true`; `false` for a metadata-only copy. */
  checkFiles?: boolean;
}

/** Maps the image id in a row's first field to the image's index, or throws naming the file and line. */
type ImageAt = (path: string, row: TableRow) => number;

/** Finds the `CUB_200_2011` folder: `root` itself or `root/CUB_200_2011`. */
export function findCubDir(root: string): string {
  const abs = resolve(root);
  for (const dir of [join(abs, "CUB_200_2011"), abs]) if (existsSync(join(dir, "images.txt"))) return dir;
  throw new DataFormatError(abs, "not a CUB-200-2011 folder: neither it nor its CUB_200_2011/ holds images.txt");
}

/** Reads and validates every CUB-200-2011 file present under `root`. */
export async function loadCubTables(root: string, options: CubOpenOptions = {}): Promise<CubTables> {
  const dir = findCubDir(root);
  const imagesPath = join(dir, "images.txt");
  const imageIds: number[] = [];
  const imageNames: string[] = [];
  const imageLines: number[] = [];
  const index = new Map<number, number>();
  const seenImages = new IdRegistry<number>(imagesPath, "image id");
  for await (const row of readTable(imagesPath)) {
    expectFields(imagesPath, row, 2, "<image_id> <image_name>");
    const id = intField(imagesPath, row, 0, "image id");
    seenImages.add(id, row);
    index.set(id, imageIds.length);
    imageIds.push(id);
    imageNames.push(listedImageName(imagesPath, row));
    imageLines.push(row.line);
  }
  const n = imageIds.length;
  const imageAt: ImageAt = (path, row) => {
    const id = intField(path, row, 0, "image id");
    const i = index.get(id);
    if (i === undefined) throw new DataFormatError(path, `image ${id} is not in images.txt`, row.line);
    return i;
  };

  const classesPath = join(dir, "classes.txt");
  const classes: CubClass[] = [];
  const classById = new Map<number, number>();
  const seenClasses = new IdRegistry<number>(classesPath, "class id");
  for await (const row of readTable(classesPath)) {
    expectFields(classesPath, row, 2, "<class_id> <class_name>");
    const id = intField(classesPath, row, 0, "class id");
    seenClasses.add(id, row);
    if (id < 1) throw new DataFormatError(classesPath, `class id must be at least 1, got ${id}`, row.line);
    classById.set(id, classes.length);
    classes.push({ id, name: row.fields[1]!, label: readableCubClassName(row.fields[1]!) });
  }

  const labelsPath = join(dir, "image_class_labels.txt");
  const classIndex = new Int32Array(n).fill(-1);
  const seenLabels = new IdRegistry<number>(labelsPath, "image id");
  for await (const row of readTable(labelsPath)) {
    expectFields(labelsPath, row, 2, "<image_id> <class_id>");
    const i = imageAt(labelsPath, row);
    seenLabels.add(imageIds[i]!, row);
    const classId = intField(labelsPath, row, 1, "class id");
    const c = classById.get(classId);
    if (c === undefined)
      throw new DataFormatError(labelsPath, `class ${classId} of image ${imageIds[i]} is not in classes.txt`, row.line);
    classIndex[i] = c;
  }
  requireEveryImage(labelsPath, "a label", classIndex, (v) => v >= 0, imageIds, imageLines);

  const splitPath = join(dir, "train_test_split.txt");
  const split = new Int8Array(n).fill(-1);
  const seenSplit = new IdRegistry<number>(splitPath, "image id");
  for await (const row of readTable(splitPath)) {
    expectFields(splitPath, row, 2, "<image_id> <is_training_image>");
    const i = imageAt(splitPath, row);
    seenSplit.add(imageIds[i]!, row);
    const v = intField(splitPath, row, 1, "is_training_image");
    if (v !== 0 && v !== 1)
      throw new DataFormatError(splitPath, `is_training_image must be 0 or 1, got ${v}`, row.line);
    split[i] = v;
  }
  requireEveryImage(splitPath, "a split", split, (v) => v >= 0, imageIds, imageLines);

  const tables: CubTables = {
    dir,
    imageIds,
    imageIndex: index,
    imageNames,
    classIndex,
    isTrain: Uint8Array.from(split),
    classes,
  };

  const boxesPath = optionalFile(join(dir, "bounding_boxes.txt"));
  if (boxesPath) {
    const boxes = new Float32Array(n * 4);
    const has = new Int8Array(n);
    const seen = new IdRegistry<number>(boxesPath, "image id");
    for await (const row of readTable(boxesPath)) {
      expectFields(boxesPath, row, 5, "<image_id> <x> <y> <width> <height>");
      const i = imageAt(boxesPath, row);
      seen.add(imageIds[i]!, row);
      for (let k = 0; k < 4; k++)
        boxes[i * 4 + k] = numberField(boxesPath, row, k + 1, ["x", "y", "width", "height"][k]!);
      if (boxes[i * 4 + 2]! <= 0 || boxes[i * 4 + 3]! <= 0)
        throw new DataFormatError(boxesPath, `box of image ${imageIds[i]} has no area`, row.line);
      has[i] = 1;
    }
    requireEveryImage(boxesPath, "a bounding box", has, (v) => v === 1, imageIds, imageLines);
    tables.boxes = boxes;
  }

  await loadParts(dir, tables, imageAt);
  await loadAttributes(root, dir, tables, imageAt);
  if (options.checkFiles ?? true) await checkListedImages(imagesPath, join(dir, "images"), imageNames, imageLines);
  return tables;
}

async function loadParts(dir: string, t: CubTables, imageAt: ImageAt): Promise<void> {
  const partsPath = optionalFile(join(dir, "parts", "parts.txt"));
  const locsPath = optionalFile(join(dir, "parts", "part_locs.txt"));
  if (!partsPath || !locsPath) return;
  const parts: CubPart[] = [];
  const seenParts = new IdRegistry<number>(partsPath, "part id");
  for await (const row of readTable(partsPath)) {
    const [idText, name] = idAndRest(partsPath, row, "<part_id> <part_name>");
    const id = Number(idText);
    if (!Number.isInteger(id) || id < 1)
      throw new DataFormatError(
        partsPath,
        `part id must be a positive integer, got ${JSON.stringify(idText)}`,
        row.line,
      );
    seenParts.add(id, row);
    parts.push({ id, name });
  }
  parts.sort((a, b) => a.id - b.id);
  const slot = new Map(parts.map((p, k) => [p.id, k]));
  const P = parts.length;
  const n = t.imageIds.length;
  const locs = new Float32Array(n * P * 3);
  const seen = new Uint8Array(n * P);
  for await (const row of readTable(locsPath)) {
    expectFields(locsPath, row, 5, "<image_id> <part_id> <x> <y> <visible>");
    const i = imageAt(locsPath, row);
    const partId = intField(locsPath, row, 1, "part id");
    const k = slot.get(partId);
    if (k === undefined) throw new DataFormatError(locsPath, `part ${partId} is not in parts.txt`, row.line);
    if (seen[i * P + k])
      throw new DataFormatError(locsPath, `part ${partId} of image ${t.imageIds[i]} appears twice`, row.line);
    seen[i * P + k] = 1;
    const o = (i * P + k) * 3;
    locs[o] = numberField(locsPath, row, 2, "x");
    locs[o + 1] = numberField(locsPath, row, 3, "y");
    const visible = intField(locsPath, row, 4, "visible");
    if (visible !== 0 && visible !== 1)
      throw new DataFormatError(locsPath, `visible must be 0 or 1, got ${visible}`, row.line);
    locs[o + 2] = visible;
  }
  t.parts = parts;
  t.partLocs = locs;
}

async function loadAttributes(root: string, dir: string, t: CubTables, imageAt: ImageAt): Promise<void> {
  const namesPath = optionalFile(
    join(resolve(root), "attributes.txt"),
    join(dir, "..", "attributes.txt"),
    join(dir, "attributes.txt"),
    join(dir, "attributes", "attributes.txt"),
  );
  if (!namesPath) return;
  const attributes: CubAttribute[] = [];
  const seen = new IdRegistry<number>(namesPath, "attribute id");
  for await (const row of readTable(namesPath)) {
    expectFields(namesPath, row, 2, "<attribute_id> <attribute_name>");
    const id = intField(namesPath, row, 0, "attribute id");
    seen.add(id, row);
    if (id !== attributes.length + 1)
      throw new DataFormatError(
        namesPath,
        `attribute ids must run 1, 2, 3...; expected ${attributes.length + 1}, got ${id}`,
        row.line,
      );
    const name = row.fields[1]!;
    const parsed = parseCubAttributeName(name);
    if (!parsed)
      throw new DataFormatError(
        namesPath,
        `attribute name must look like has_<group>::<value>, got ${JSON.stringify(name)}`,
        row.line,
      );
    attributes.push({ id, name, ...parsed });
  }
  t.attributes = attributes;
  const A = attributes.length;

  const certaintiesPath = optionalFile(join(dir, "attributes", "certainties.txt"));
  if (certaintiesPath) {
    const certainties: string[] = [];
    for await (const row of readTable(certaintiesPath)) {
      const [idText, name] = idAndRest(certaintiesPath, row, "<certainty_id> <certainty_name>");
      if (Number(idText) !== certainties.length + 1)
        throw new DataFormatError(
          certaintiesPath,
          `certainty ids must run 1, 2, 3...; got ${JSON.stringify(idText)}`,
          row.line,
        );
      certainties.push(name);
    }
    t.certainties = certainties;
  }

  const classPath = optionalFile(join(dir, "attributes", "class_attribute_labels_continuous.txt"));
  if (classPath) {
    const values: number[] = [];
    let rows = 0;
    for await (const row of readTable(classPath)) {
      expectFields(classPath, row, A, `${A} percentages, one per attribute`);
      for (let k = 0; k < A; k++) {
        const v = numberField(classPath, row, k, `attribute ${k + 1}`);
        if (v < 0 || v > 100)
          throw new DataFormatError(
            classPath,
            `attribute ${k + 1} must be a percentage in [0, 100], got ${v}`,
            row.line,
          );
        values.push(v);
      }
      rows++;
    }
    const maxClass = Math.max(...t.classes.map((c) => c.id));
    if (rows < maxClass)
      throw new DataFormatError(
        classPath,
        `has ${rows} rows (one per class id, in order) but classes.txt has class id ${maxClass}`,
      );
    t.classAttributes = Float32Array.from(values);
    t.classAttributeRows = rows;
  }

  const imagePath = optionalFile(join(dir, "attributes", "image_attribute_labels.txt"));
  if (imagePath) {
    const n = t.imageIds.length;
    const present = new Uint8Array(n * A);
    const certainty = new Uint8Array(n * A);
    const nc = t.certainties?.length ?? 4;
    for await (const row of readTable(imagePath)) {
      // CUB's own file has 5 fields, a few lines have a sixth: only the first four matter.
      expectFields(imagePath, row, 4, "<image_id> <attribute_id> <is_present> <certainty_id> <time>", true);
      const i = imageAt(imagePath, row);
      const a = intField(imagePath, row, 1, "attribute id");
      if (a < 1 || a > A)
        throw new DataFormatError(imagePath, `attribute ${a} is not in attributes.txt (1..${A})`, row.line);
      const p = intField(imagePath, row, 2, "is_present");
      if (p !== 0 && p !== 1) throw new DataFormatError(imagePath, `is_present must be 0 or 1, got ${p}`, row.line);
      const c = intField(imagePath, row, 3, "certainty id");
      if (c < 1 || c > nc) throw new DataFormatError(imagePath, `certainty must be in 1..${nc}, got ${c}`, row.line);
      present[i * A + a - 1] = p;
      certainty[i * A + a - 1] = c;
    }
    t.imageAttributePresent = present;
    t.imageAttributeCertainty = certainty;
  }
}

function requireEveryImage<T extends ArrayLike<number>>(
  path: string,
  what: string,
  values: T,
  ok: (v: number) => boolean,
  ids: number[],
  lines: number[],
): void {
  for (let i = 0; i < values.length; i++) {
    if (!ok(values[i]!))
      throw new DataFormatError(
        path,
        `image ${ids[i]} (images.txt line ${lines[i]}) is not listed: every image needs ${what}`,
      );
  }
}
