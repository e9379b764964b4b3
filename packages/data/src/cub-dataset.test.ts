import { mkdtemp, mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sharedPath } from "../../../testing/shared.js";
import { CubDataset } from "./cub-dataset.js";
import { DataFormatError } from "./data-format-error.js";

const fullMeta = sharedPath("data/cub-200-2011-metadata");
const subset = sharedPath("data/cub-subset-train");

describe.skipIf(!fullMeta)("CubDataset on the full CUB-200-2011 metadata", () => {
  let cub: CubDataset;
  beforeAll(async () => {
    cub = await CubDataset.open(fullMeta!, { checkFiles: false });
  });

  it("reports the published counts", () => {
    expect(cub.size).toBe(11788);
    expect(cub.split("train").size).toBe(5994);
    expect(cub.split("test").size).toBe(5794);
    expect(cub.classes.length).toBe(200);
    expect(cub.attributes!.length).toBe(312);
    expect(cub.parts!.length).toBe(15);
    expect(cub.get(0).parts!.length).toBe(15);
    expect(cub.certainties).toEqual(["not visible", "guessing", "probably", "definitely"]);
  });

  it("reads one image's annotations as written in the files", () => {
    const first = cub.get(0);
    expect(first).toMatchObject({
      imageId: 1,
      classId: 1,
      className: "001.Black_footed_Albatross",
      label: "Black-footed Albatross",
      isTrain: false,
    });
    expect(first.relativePath).toBe("001.Black_footed_Albatross/Black_Footed_Albatross_0046_18.jpg");
    expect(first.bbox).toEqual({ x: 60, y: 27, width: 325, height: 304 });
    // part_locs.txt: "1 2 312.0 182.0 1" (beak) and "1 1 0.0 0.0 0" (back, not visible)
    expect(first.parts![1]).toEqual({ partId: 2, name: "beak", x: 312, y: 182, visible: true });
    expect(first.parts![0]!.visible).toBe(false);
    expect(cub.split("train").get(0).imageId).toBe(2);
    expect(cub.classById(200).label).toBe("Common Yellowthroat");
    expect(cub.classById(159).label).toBe("Black-and-white Warbler");
  });

  it("gives 312 named class attributes from the continuous file", async () => {
    const values = cub.classAttributes(1);
    expect(values.length).toBe(312);
    const row = (
      await readFile(join(fullMeta!, "CUB_200_2011/attributes/class_attribute_labels_continuous.txt"), "utf8")
    )
      .split("\n")[0]!
      .trim()
      .split(/\s+/)
      .map(Number);
    expect(values.map((v) => v.percent)).toEqual(row.map((x) => Math.fround(x)));
    expect(values[4]).toMatchObject({
      id: 5,
      name: "has_bill_shape::hooked_seabird",
      group: "bill_shape",
      value: "hooked_seabird",
    });
    expect(cub.hasImageAttributes).toBe(false);
    expect(() => cub.imageAttributes(1)).toThrow(/image_attribute_labels/);
  });

  it("names the missing images when files are checked", async () => {
    const err = await CubDataset.open(fullMeta!).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DataFormatError);
    expect((err as Error).message).toMatch(
      /images\.txt: 11788 of 11788 listed images are missing .*line 1 \(001\.Black_footed_Albatross\/Black_Footed_Albatross_0046_18\.jpg\).* and 11783 more/,
    );
  });
});

describe.skipIf(!subset)("CubDataset on the real CUB subset", () => {
  it("reads 2,999 images of 100 classes with optional files absent", async () => {
    const cub = await CubDataset.open(subset!);
    expect(cub.size).toBe(2999);
    expect(cub.classes.length).toBe(100);
    expect(cub.split("train").size).toBe(2999);
    expect(cub.split("test").size).toBe(0);
    expect(cub.hasBoundingBoxes).toBe(false);
    expect(cub.parts).toBeUndefined();
    expect(cub.attributes!.length).toBe(312);
    const last = cub.get(cub.size - 1);
    expect(existsSync(last.path)).toBe(true);
    expect(last.bbox).toBeUndefined();
    // CUB's own class ids are kept, and the class attribute row is picked by id, not by position.
    const second = cub.classes[1]!;
    expect(second).toMatchObject({ id: 4, label: "Groove-billed Ani" });
    const row4 = (
      await readFile(join(subset!, "CUB_200_2011/attributes/class_attribute_labels_continuous.txt"), "utf8")
    )
      .split("\n")[3]!
      .trim()
      .split(/\s+/)
      .map(Number);
    expect(cub.classAttributes(4).map((v) => v.percent)).toEqual(row4.map((x) => Math.fround(x)));
    const { train, validation } = cub.holdout(0.1, 3);
    expect(train.size + validation.size).toBe(2999);
    const perClass = new Map<number, number>();
    for (let i = 0; i < validation.size; i++)
      perClass.set(validation.get(i).classId, (perClass.get(validation.get(i).classId) ?? 0) + 1);
    expect(perClass.size).toBe(100);
    expect(Math.max(...perClass.values())).toBe(3);
    const trainIds = new Set(Array.from({ length: train.size }, (_, i) => train.get(i).imageId));
    for (let i = 0; i < validation.size; i++) expect(trainIds.has(validation.get(i).imageId)).toBe(false);
    expect(cub.holdout(0.1, 3).validation.get(5).imageId).toBe(validation.get(5).imageId);
    expect(
      cub.holdout(0.1, 4).validation.get(5).imageId === validation.get(5).imageId &&
        cub.holdout(0.1, 4).validation.get(50).imageId === validation.get(50).imageId,
    ).toBe(false);
    const classIndices = new Set(Array.from({ length: cub.size }, (_, i) => cub.get(i).classIndex));
    expect(classIndices.size).toBe(100);
    expect(Math.max(...classIndices)).toBe(99);
  });
});

/** A tiny CUB folder with real JPEG files, which each test then breaks in one way. */
async function makeTinyCub(dir: string): Promise<void> {
  const cub = join(dir, "CUB_200_2011");
  await mkdir(join(cub, "images", "001.Red_Robin"), { recursive: true });
  await mkdir(join(cub, "images", "002.Blue_Jay"), { recursive: true });
  const jpeg = await sharp({ create: { width: 8, height: 8, channels: 3, background: "#c33" } })
    .jpeg()
    .toBuffer();
  const names = ["001.Red_Robin/a.jpg", "001.Red_Robin/b.jpg", "002.Blue_Jay/c.jpg", "002.Blue_Jay/d.jpg"];
  for (const n of names) await writeFile(join(cub, "images", n), jpeg);
  await writeFile(join(cub, "images.txt"), names.map((n, i) => `${i + 1} ${n}`).join("\n") + "\n");
  await writeFile(join(cub, "classes.txt"), "1 001.Red_Robin\n2 002.Blue_Jay\n");
  await writeFile(join(cub, "image_class_labels.txt"), "1 1\n2 1\n3 2\n4 2\n");
  await writeFile(join(cub, "train_test_split.txt"), "1 1\n2 0\n3 1\n4 0\n");
  await writeFile(join(cub, "bounding_boxes.txt"), "1 0 0 4 4\n2 1 1 5 5\n3 0.5 0.5 6 6\n4 2 2 3 3\n");
}

describe("CubDataset validation on broken copies", () => {
  let root: string;
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), "birdvlm-cub-"));
  });
  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  async function broken(name: string, file: string, edit: (text: string) => string): Promise<string> {
    const dir = join(root, name);
    await makeTinyCub(dir);
    const path = join(dir, "CUB_200_2011", file);
    if (existsSync(path)) await writeFile(path, edit(await readFile(path, "utf8")));
    else edit("");
    return dir;
  }

  it("opens the intact copy, from the root or from CUB_200_2011 itself", async () => {
    const dir = await broken("ok", "images.txt", (t) => t);
    const cub = await CubDataset.open(dir);
    expect(cub.size).toBe(4);
    expect(cub.split("train").size).toBe(2);
    expect(cub.get(2)).toMatchObject({
      label: "Blue Jay",
      classIndex: 1,
      bbox: { x: 0.5, y: 0.5, width: 6, height: 6 },
    });
    expect((await CubDataset.open(join(dir, "CUB_200_2011"))).size).toBe(4);
  });

  it("names the file and line of a line cut short", async () => {
    const dir = await broken("short", "images.txt", (t) => t.replace("3 002.Blue_Jay/c.jpg", "3"));
    await expect(CubDataset.open(dir)).rejects.toThrow(/CUB_200_2011\/images\.txt:3: expected 2 fields/);
  });

  it("names the line of a duplicated id and the first one", async () => {
    const dir = await broken("dup", "image_class_labels.txt", (t) => t.replace("4 2", "3 2"));
    await expect(CubDataset.open(dir)).rejects.toThrow(
      /image_class_labels\.txt:4: image id 3 appears twice \(first on line 3\)/,
    );
  });

  it("names a label whose class does not exist", async () => {
    const dir = await broken("noclass", "image_class_labels.txt", (t) => t.replace("2 1", "2 9"));
    await expect(CubDataset.open(dir)).rejects.toThrow(
      /image_class_labels\.txt:2: class 9 of image 2 is not in classes\.txt/,
    );
  });

  it("names an image with no split entry", async () => {
    const dir = await broken("nosplit", "train_test_split.txt", (t) => t.replace("4 0\n", ""));
    await expect(CubDataset.open(dir)).rejects.toThrow(
      /train_test_split\.txt: image 4 \(images\.txt line 4\) is not listed/,
    );
  });

  it("names a malformed number in a box", async () => {
    const dir = await broken("badbox", "bounding_boxes.txt", (t) => t.replace("2 1 1 5 5", "2 1 1 five 5"));
    await expect(CubDataset.open(dir)).rejects.toThrow(/bounding_boxes\.txt:2: width must be a number, got "five"/);
  });

  it("names a missing image file, unless the check is off", async () => {
    const dir = await broken("missing", "images.txt", (t) => t);
    await rm(join(dir, "CUB_200_2011", "images", "002.Blue_Jay", "d.jpg"));
    await expect(CubDataset.open(dir)).rejects.toThrow(
      /images\.txt: 1 of 4 listed images are missing .*line 4 \(002\.Blue_Jay\/d\.jpg\)/,
    );
    expect((await CubDataset.open(dir, { checkFiles: false })).size).toBe(4);
  });
});
