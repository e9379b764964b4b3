import { existsSync } from "node:fs";
import { cp, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sharedPath } from "../../../testing/shared.js";
import { NABirdsDataset } from "./nabirds-dataset.js";

const meta = sharedPath("data/nabirds-metadata");

describe.skipIf(!meta)("NABirdsDataset on the NABirds metadata", () => {
  let nab: NABirdsDataset;
  beforeAll(async () => {
    nab = await NABirdsDataset.open(meta!, { checkFiles: false });
  });

  it("reads every image, split, box and size", () => {
    expect(nab.size).toBe(48562);
    expect(nab.split("train").size + nab.split("test").size).toBe(48562);
    expect(nab.split("train").size).toBe(23929);
    expect(nab.classes.length).toBe(1011);
    expect(nab.get(0)).toMatchObject({
      imageId: "0000139e-21dc-4d0c-bfe1-4cae3c85c829",
      relativePath: "0817/0000139e21dc4d0cbfe14cae3c85c829.jpg",
      classId: 817,
      isTrain: false,
      bbox: { x: 83, y: 59, width: 128, height: 228 },
      size: { width: 296, height: 341 },
    });
    expect(nab.hasBoundingBoxes).toBe(true);
    // views share the CUB view's behaviour (ListedImageDataset): positions are checked, subsets of subsets compose
    expect(() => nab.subset([nab.size])).toThrow(`NABirdsDataset.get: index ${nab.size} out of range`);
    const view = nab.split("test").subset([2, 0]).subset([1]);
    expect(view.get(0).imageId).toBe(nab.split("test").get(0).imageId);
  });

  it("walks the hierarchy: leaves, ancestors, species, groups", () => {
    const leaves = nab.leafClasses();
    expect(leaves.length).toBe(555);
    expect(leaves.every((c) => nab.children(c.id).length === 0)).toBe(true);
    const labelled = new Set(Array.from({ length: nab.size }, (_, i) => nab.get(i).classId));
    expect(labelled.size).toBe(555);
    expect(nab.ancestors(295).map((c) => c.name)).toEqual(["Common Eider", "Ducks, Geese, and Swans", "Birds"]);
    expect(nab.speciesOf(295).name).toBe("Common Eider");
    expect(nab.groupsOf(295).map((c) => c.name)).toEqual(["Ducks, Geese, and Swans"]);
    expect(nab.speciesOf(403).name).toBe("Chipping Sparrow");
    expect(nab.groupsOf(403).map((c) => c.name)).toEqual(["New World Sparrows and Allies", "Perching Birds"]);
    expect(nab.ancestors(0)).toEqual([]);
    const idx = new Set(Array.from({ length: 2000 }, (_, i) => nab.get(i * 20).classIndex));
    for (const k of idx) expect(k >= 0 && k < 555).toBe(true);
  });

  it("names the missing images when files are checked", async () => {
    await expect(NABirdsDataset.open(meta!)).rejects.toThrow(
      /images\.txt: 48562 of 48562 listed images are missing .*line 1 \(0817\//,
    );
  });
});

describe.skipIf(!meta)("NABirdsDataset validation on broken copies", () => {
  let root: string;
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), "birdvlm-nabirds-"));
  });
  afterAll(async () => rm(root, { recursive: true, force: true }));

  async function broken(name: string, file: string, edit: (text: string) => string): Promise<string> {
    const dir = join(root, name);
    await cp(join(meta!, "nabirds"), dir, { recursive: true });
    await writeFile(join(dir, file), edit(await readFile(join(dir, file), "utf8")));
    return dir;
  }

  it("names a cut line, a duplicate, an unknown parent and an unlabelled image", async () => {
    let dir = await broken("cut", "sizes.txt", (t) =>
      t.replace("0000d9fc-4e02-4c06-a0af-a55cfb16b12b 640 427", "0000d9fc-4e02-4c06-a0af-a55cfb16b12b 640"),
    );
    await expect(NABirdsDataset.open(dir, { checkFiles: false })).rejects.toThrow(/sizes\.txt:2: expected 3 fields/);
    dir = await broken("dup", "hierarchy.txt", (t) => t + "1 0\n");
    await expect(NABirdsDataset.open(dir, { checkFiles: false })).rejects.toThrow(
      /hierarchy\.txt:1011: child class id 1 appears twice \(first on line 1\)/,
    );
    dir = await broken("parent", "hierarchy.txt", (t) => t.replace(/^2 0$/m, "2 5000"));
    await expect(NABirdsDataset.open(dir, { checkFiles: false })).rejects.toThrow(
      /hierarchy\.txt:2: parent class 5000 is not in classes\.txt/,
    );
    dir = await broken("split", "train_test_split.txt", (t) => t.split("\n").slice(1).join("\n"));
    await expect(NABirdsDataset.open(dir, { checkFiles: false })).rejects.toThrow(
      /train_test_split\.txt: image 0000139e-21dc-4d0c-bfe1-4cae3c85c829 \(images\.txt line 1\) is not listed/,
    );
    expect(existsSync(dir)).toBe(true);
  });
});
