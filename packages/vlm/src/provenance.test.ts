import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { emptyProvenance, fingerprintFiles, overlapByPart, recordTraining } from "./provenance.js";
import { collate } from "./collate.js";

describe("provenance", () => {
  it("counts, per part, the evaluation images that trained it, within the same dataset only", () => {
    const p = emptyProvenance();
    recordTraining(p, ["encoder"], { stage: "train-vit", dataset: "A", imageIds: ["1", "2", "3"] });
    recordTraining(p, ["projector", "lm"], { stage: "instruct", dataset: "A", imageIds: ["3", "4"] });
    recordTraining(p, ["projector"], { stage: "align", dataset: "B", imageIds: ["5"] });
    expect(overlapByPart(p, "A", ["2", "3", "5", "9"])).toEqual([
      { part: "encoder", count: 2 },
      { part: "projector", count: 1 },
      { part: "lm", count: 1 },
    ]);
    expect(overlapByPart(p, "B", ["5"])).toEqual([{ part: "projector", count: 1 }]);
    expect(overlapByPart(p, "C", ["1", "5"])).toEqual([]);
  });

  it("fingerprints index files by content, not by their order", async () => {
    const dir = await mkdtemp(join(tmpdir(), "vlm-fp-"));
    try {
      await writeFile(join(dir, "images.txt"), "1 a.jpg\n");
      await writeFile(join(dir, "split.txt"), "1 1\n");
      const a = await fingerprintFiles([join(dir, "images.txt"), join(dir, "split.txt")]);
      expect(await fingerprintFiles([join(dir, "split.txt"), join(dir, "images.txt")])).toBe(a);
      await writeFile(join(dir, "split.txt"), "1 0\n");
      expect(await fingerprintFiles([join(dir, "images.txt"), join(dir, "split.txt")])).not.toBe(a);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe("collate", () => {
  it("right-pads ids with the pad id, masks padding and labels it -100", () => {
    const b = collate(
      [
        { ids: [5, 6, 7], labels: [-100, 6, 7] },
        { ids: [8], labels: [8] },
      ],
      0,
    );
    expect(b).toEqual({
      ids: [
        [5, 6, 7],
        [8, 0, 0],
      ],
      mask: [
        [1, 1, 1],
        [1, 0, 0],
      ],
      labels: [
        [-100, 6, 7],
        [8, -100, -100],
      ],
    });
  });
});
