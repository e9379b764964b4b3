import { cp, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { tf } from "@birdvlm/core";
import { fuzz, type FuzzRng } from "../../../testing/fuzz.js";
import { CubDataset } from "./cub-dataset.js";
import { ImagePipeline } from "./image-pipeline.js";
import { generateSynthBirds } from "./synth-birds.js";

/** The list files of a CUB folder (relative to `CUB_200_2011/`, `../attributes.txt` one level up). */
const LISTS = [
  "images.txt",
  "classes.txt",
  "image_class_labels.txt",
  "train_test_split.txt",
  "bounding_boxes.txt",
  "parts/parts.txt",
  "parts/part_locs.txt",
  "../attributes.txt",
  "attributes/certainties.txt",
  "attributes/class_attribute_labels_continuous.txt",
  "attributes/image_attribute_labels.txt",
];

/** Cells that break a table's assumptions. */
const HOSTILE_CELLS = [
  "",
  "-1",
  "0",
  "1e309",
  "NaN",
  "0x10",
  "1.5",
  "99999999999",
  "../../../etc/passwd",
  "/dev/zero",
  "a b",
  "é",
  "\u0000",
  "2",
];

/** One line-level edit of a table's text. */
function mutateTable(text: string, rng: FuzzRng): { text: string; what: string } {
  const lines = text.split("\n");
  const i = rng.int(Math.max(1, lines.length - 1));
  switch (rng.int(7)) {
    case 0:
      lines.splice(i, 1);
      return { text: lines.join("\n"), what: `line ${i + 1} deleted` };
    case 1:
      lines.splice(i, 0, lines[i] ?? "");
      return { text: lines.join("\n"), what: `line ${i + 1} repeated` };
    case 2: {
      const fields = (lines[i] ?? "").split(" ");
      const f = rng.int(fields.length + 1);
      const cell = rng.pick(HOSTILE_CELLS);
      fields[f] = cell;
      lines[i] = fields.join(" ");
      return { text: lines.join("\n"), what: `line ${i + 1} field ${f + 1} -> ${JSON.stringify(cell)}` };
    }
    case 3: {
      const fields = (lines[i] ?? "").split(" ");
      fields.reverse();
      lines[i] = fields.join(" ");
      return { text: lines.join("\n"), what: `line ${i + 1} fields reversed` };
    }
    case 4: {
      const cut = rng.int(text.length);
      return { text: text.slice(0, cut), what: `cut at byte ${cut}` };
    }
    case 5:
      lines.splice(i, 0, rng.pick(["garbage", "1", "1 2 3 4 5 6 7", "\t", "\uFEFF1 x"]));
      return { text: lines.join("\n"), what: `garbage line at ${i + 1}` };
    default:
      return { text: `\uFEFF${text.replace(/\n/g, "\r\n")}`, what: "BOM and CRLF" };
  }
}

describe("CUB folder fuzz: mutated lists end in the dataset's own errors, never hang, never leak", () => {
  let root: string;
  let valid: string;
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), "cub-fuzz-"));
    valid = join(root, "valid");
    await generateSynthBirds(valid, { species: 3, imagesPerSpecies: 3, imageSize: 24, testFraction: 0.34 });
  }, 60_000);
  afterAll(() => rm(root, { recursive: true, force: true }));

  it("40 folders with one list file damaged", async () => {
    const pipe = new ImagePipeline({ size: 8 });
    const result = await fuzz(
      "CUB folder",
      { cases: 40, timeoutMs: 5000, tensors: () => tf.memory().numTensors },
      async (rng, i) => {
        const dir = join(root, `case-${i}`);
        const cub = join(dir, "CUB_200_2011");
        await mkdir(dir);
        const images = join(valid, "CUB_200_2011", "images");
        await cp(join(valid, "attributes.txt"), join(dir, "attributes.txt"));
        await cp(join(valid, "CUB_200_2011"), cub, {
          recursive: true,
          filter: (src) => src !== images && !src.startsWith(`${images}/`),
        });
        await symlink(join(valid, "CUB_200_2011", "images"), join(cub, "images"));
        const list = rng.pick(LISTS);
        const path = join(cub, list);
        const m = mutateTable(await readFile(path, "utf8"), rng);
        await writeFile(path, m.text);
        return {
          what: `${list}: ${m.what}`,
          names: [dir],
          load: async () => {
            const cubSet = await CubDataset.open(dir);
            for (let k = 0; k < cubSet.size; k++) cubSet.get(k);
            if (cubSet.size > 0) await pipe.load(cubSet.get(0));
          },
        };
      },
    );
    expect(result.refused).toBeGreaterThan(12);
    expect(result.loaded).toBeGreaterThan(0);
  }, 120_000);
});
