import { existsSync } from "node:fs";
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generateSynthBirds } from "@birdvlm/data";
import { runCli, type CliIO } from "./cli/main.js";
import { loadNABirdsTasks } from "./bird-tasks.js";
import { loadRecipe } from "./recipe.js";

/** A tiny recipe: a 16-wide, 1-block ViT at 32 px and a 1-layer Phi-3 of width 32, one epoch of each stage. */
const TINY = {
  description: "test: tiny shapes",
  encoder: { patchSize: 8, hiddenSize: 16, depth: 1, numHeads: 2, mlpRatio: 2, pooling: "mean" },
  training: { imageSize: 32, epochs: 1, batchSize: 8, lr: 0.003 },
  vlm: {
    imageTokenGrid: 2,
    pooledToken: true,
    projectorInit: "head",
    speciesTargets: "encoder",
    distillation: { temperature: 0.05 },
    languageModel: { hiddenSize: 32, layers: 1, heads: 2, mlpRatio: 2, maxPositions: 256 },
    align: { epochs: 1, batchSize: 8 },
    instruct: {
      epochs: 1,
      batchSize: 8,
      trainLanguageModel: true,
      augmentation: { scale: [0.5, 1], flipProbability: 0.5 },
    },
  },
};

/** The tiny encoder with a random-resized-crop: trained through train-vit's pixel-cache pipeline. */
const TINY_AUGMENTED = {
  ...TINY,
  training: { ...TINY.training, validationFraction: 0.2, augmentation: { scale: [0.5, 1] } },
  vlm: undefined,
};

/**
 * A NABirds-layout folder made of SynthBirds pictures: 3 species under two groups, the first split into two
 * plumages, so 4 visual categories (leaves) over 3 species.
 */
async function tinyNABirds(dir: string): Promise<string> {
  const synth = join(dir, "synth");
  await generateSynthBirds(synth, { species: 3, imagesPerSpecies: 6, imageSize: 32, seed: 2, concurrency: 2 });
  const cub = join(synth, "CUB_200_2011");
  const rows = async (f: string) =>
    (await readFile(join(cub, f), "utf8"))
      .trim()
      .split("\n")
      .map((l) => l.split(" "));
  const images = await rows("images.txt");
  const labels = new Map((await rows("image_class_labels.txt")).map(([id, c]) => [id!, Number(c)]));
  const split = new Map((await rows("train_test_split.txt")).map(([id, t]) => [id!, t!]));
  const boxes = new Map((await rows("bounding_boxes.txt")).map(([id, ...b]) => [id!, b.join(" ")]));
  const root = join(dir, "nabirds-root"),
    nab = join(root, "nabirds");
  await mkdir(join(nab, "images"), { recursive: true });
  await cp(join(cub, "images"), join(nab, "images"), { recursive: true });
  const classes = [
    "0 Birds",
    "1 Perching Birds",
    "2 Finches and Allies",
    "10 Alpha Finch",
    "11 Alpha Finch (Adult male)",
    "12 Alpha Finch (Female/juvenile)",
    "20 Beta Finch",
    "30 Gamma Lark",
  ];
  const hierarchy = ["1 0", "2 1", "10 2", "11 10", "12 10", "20 2", "30 1"];
  const uuid = (id: string) => `0000${id.padStart(4, "0")}-aaaa-4bbb-8ccc-${id.padStart(12, "0")}`;
  const leafOf = (id: string, k: number) => [k % 2 ? 12 : 11, 20, 30][labels.get(id)! - 1]!;
  const lines = (xs: string[]) => xs.join("\n") + "\n";
  await writeFile(join(nab, "classes.txt"), lines(classes));
  await writeFile(join(nab, "hierarchy.txt"), lines(hierarchy));
  await writeFile(join(nab, "images.txt"), lines(images.map(([id, file]) => `${uuid(id!)} ${file}`)));
  await writeFile(
    join(nab, "image_class_labels.txt"),
    lines(images.map(([id], k) => `${uuid(id!)} ${leafOf(id!, k)}`)),
  );
  await writeFile(join(nab, "train_test_split.txt"), lines(images.map(([id]) => `${uuid(id!)} ${split.get(id!)}`)));
  await writeFile(join(nab, "bounding_boxes.txt"), lines(images.map(([id]) => `${uuid(id!)} ${boxes.get(id!)}`)));
  return root;
}

async function cli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = "",
    err = "";
  const io: CliIO = { log: (l) => (out += l + "\n"), write: (t) => (out += t), error: (l) => (err += l + "\n") };
  const code = await runCli(argv, io);
  return { code, out, err };
}

describe("birdvlm demo --nabirds", () => {
  let dir: string, root: string, recipe: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "vlm-nabirds-"));
    root = await tinyNABirds(dir);
    recipe = join(dir, "tiny.json");
    await writeFile(recipe, JSON.stringify(TINY));
  });
  afterAll(async () => rm(dir, { recursive: true, force: true }));

  it("reads NABirds as tasks: the head learns the 4 categories, the VLM answers with the 3 species", async () => {
    const tasks = await loadNABirdsTasks(root);
    expect(tasks.numClasses).toBe(4);
    expect(tasks.speciesNames).toEqual(["Alpha Finch", "Beta Finch", "Gamma Lark"]);
    expect(tasks.speciesOfClass).toEqual([0, 0, 1, 2]);
    expect(tasks.hasBoundingBoxes).toBe(true);
    expect(new Set(tasks.testItems.map((t) => t.species))).toEqual(new Set(tasks.speciesNames));
    const types = new Set(tasks.trainingAnswers.map((a) => a.type));
    for (const t of ["species", "plumage", "group"]) expect(types).toContain(t);
  });

  it("trains, evaluates and reports through the command on a tiny NABirds folder", async () => {
    const out = join(dir, "out");
    const r = await cli("demo", "--nabirds", root, "--out", out, "--recipe", recipe, "--encoder-recipe", recipe);
    expect(r.err).toBe("");
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/data: 3 species \(4 categories\)/);
    expect(r.out).toMatch(
      /species, held-out top-1: encoder's own head \d+\.\d% \| VLM free answers \d+\.\d% \| VLM by likelihood/,
    );
    expect(r.out).toMatch(/question type +questions +accuracy +majority/);
    const report = JSON.parse(await readFile(join(out, "eval", "report.json"), "utf8"));
    expect(report.speciesNames).toEqual(["Alpha Finch", "Beta Finch", "Gamma Lark"]);
    const types = report.questionTypes.map((q: { type: string }) => q.type);
    expect(types[0]).toBe("species");
    expect(types).toContain("group");
    expect(existsSync(join(out, "eval", "confusion.png"))).toBe(true);
    expect(JSON.parse(await readFile(join(out, "summary.json"), "utf8")).questionTypes).toEqual(report.questionTypes);
    const both = await cli("demo", "--nabirds", root, "--cub", root, "--out", out);
    expect(both.err).toMatch(/not both/);
    expect(report.questionTypes.length).toBeGreaterThan(1);
  }, 240_000);
});

describe("the real-birds recipe", () => {
  it("is the demo's shapes with the pooled-embedding token, the head-initialized projector, and distillation of the encoder's belief on augmented views", async () => {
    const [demo, real] = [await loadRecipe("demo"), await loadRecipe("real-birds")];
    expect(real.vlm).toEqual({
      ...demo.vlm,
      pooledToken: true,
      projectorInit: "head",
      speciesTargets: "encoder",
      distillation: { temperature: 0.05, labelShare: 0 },
      instruct: { ...demo.vlm!.instruct, epochs: 20, augmentation: { scale: [0.35, 1], flipProbability: 0.5 } },
    });
    expect(demo.vlm).toMatchObject({ speciesTargets: "label", instruct: { augmentation: { scale: null } } });
    expect(real.encoder).toEqual(demo.encoder);
    expect(demo.vlm).toMatchObject({ pooledToken: false, projectorInit: "random" });
  });
});

describe("birdvlm demo --cub --encoder-recipe with augmentation", () => {
  it("trains the encoder through train-vit's pipeline, then the VLM on it with the pooled token and the head-initialized projector", async () => {
    const dir = await mkdtemp(join(tmpdir(), "vlm-cub-pipeline-"));
    try {
      const data = join(dir, "birds");
      await generateSynthBirds(data, { species: 3, imagesPerSpecies: 8, imageSize: 32, seed: 3, concurrency: 2 });
      await writeFile(join(dir, "tiny.json"), JSON.stringify(TINY));
      await writeFile(join(dir, "tiny-augmented.json"), JSON.stringify(TINY_AUGMENTED));
      const out = join(dir, "out");
      const r = await cli(
        "demo",
        ...["--cub", data, "--out", out, "--recipe", join(dir, "tiny.json")],
        ...["--encoder-recipe", join(dir, "tiny-augmented.json"), "--box-only"],
      );
      expect(r.err).toBe("");
      expect(r.code).toBe(0);
      expect(r.out).toMatch(/train-vit: recipe tiny-augmented through the pixel-cache pipeline/);
      expect(r.out).toMatch(/5 image tokens/);
      expect(r.out).toMatch(/instruct: species answers drawn from the encoder's belief \(distillation\)/);
      expect(existsSync(join(out, "encoder", "model", "model.safetensors"))).toBe(true);
      const provenance = JSON.parse(await readFile(join(out, "model", "provenance.json"), "utf8"));
      const encoderImages = provenance.parts.encoder[0].imageIds.length;
      const projectorImages = provenance.parts.projector[0].imageIds.length;
      expect(encoderImages).toBeLessThan(projectorImages); // validation was held out of the encoder's training
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 240_000);
});
