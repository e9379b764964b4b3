import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CubDataset, generateSynthBirds } from "@birdvlm/data";
import { VisionTransformer } from "@birdvlm/vit";
import { loadRecipe } from "../recipe.js";
import { trainVitOnCub } from "../train-vit-run.js";
import { runCli, type CliIO } from "./main.js";

/** A tiny recipe: every knob of cub-scratch on, at a size that trains in seconds. */
const tiny = {
  description: "test",
  encoder: {
    patchSize: 8,
    stemWidths: [8],
    hiddenSize: 32,
    depth: 1,
    numHeads: 2,
    mlpRatio: 2,
    mlpConvKernel: 3,
    pooling: "attention",
  },
  training: {
    imageSize: 32,
    epochs: 2,
    batchSize: 8,
    lr: 2e-3,
    warmupEpochs: 1,
    emaDecay: 0.9,
    validationFraction: 0.25,
    augmentation: { scale: [0.35, 1], colorJitter: 0.4, mixupAlpha: 0.8, cutmixAlpha: 1, randomErasing: 0.25 },
  },
};

describe("birdvlm train-vit", () => {
  let dir: string;
  let data: string;
  let recipePath: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "birdvlm-train-vit-"));
    data = join(dir, "synth");
    await generateSynthBirds(data, { species: 4, imagesPerSpecies: 8, imageSize: 48, testFraction: 0.25 });
    recipePath = join(dir, "tiny.json");
    await writeFile(recipePath, JSON.stringify(tiny));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("ships the cub-scratch recipe, with every knob it sets readable", async () => {
    const r = await loadRecipe("cub-scratch");
    expect(r.training.epochs).toBeGreaterThan(0);
    expect(r.training.imageSize % r.encoder.patchSize).toBe(0);
    expect(r.description).toMatch(/validation/);
    expect(r.encoder.mlpConvKernel).toBe(3);
  });

  it("keeps the official split: validation is carved from train, and no test image is ever trained on", async () => {
    const r = await trainVitOnCub({
      data,
      out: join(dir, "split"),
      recipe: await loadRecipe(recipePath),
      maxSteps: 1,
      progress: false,
    });
    const cub = await CubDataset.open(data);
    const official = (which: "train" | "test") => {
      const v = cub.split(which);
      return new Set(Array.from({ length: v.size }, (_, i) => v.get(i).imageId));
    };
    const train = official("train");
    const test = official("test");
    expect(r.testIds.length).toBe(test.size);
    expect(r.testIds.every((id) => test.has(id))).toBe(true);
    for (const id of [...r.trainIds, ...r.validationIds]) expect(train.has(id)).toBe(true);
    expect(r.trainIds.filter((id) => r.validationIds.includes(id))).toEqual([]);
    expect(r.trainIds.length + r.validationIds.length).toBe(train.size);
    expect(r.validationIds.length).toBeGreaterThan(0);
  });

  it("trains from a recipe file with flag overrides and ends with the test line; writes metrics, curves, model", async () => {
    const out = join(dir, "run");
    let text = "";
    const io: CliIO = { log: (l) => (text += l + "\n"), write: (t) => (text += t), error: (l) => (text += l + "\n") };
    const code = await runCli(
      ["train-vit", "--data", data, "--out", out, "--recipe", recipePath, "--epochs", "2", "--mixup", "0"],
      io,
    );
    expect(code, text).toBe(0);
    const lines = text.trim().split("\n");
    expect(lines.at(-1)).toMatch(/^test top-1: \d+\.\d% \(top-5 \d+\.\d%, 8 images\)$/);
    expect(text).toMatch(/epoch 2\/2 {2}train acc/);
    for (const f of [
      "metrics.jsonl",
      "curves.png",
      "model/config.json",
      "model/model.safetensors",
      "model/provenance.json",
    ])
      expect(existsSync(join(out, f)), f).toBe(true);
    const metrics = (await readFile(join(out, "metrics.jsonl"), "utf8"))
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(metrics.some((m) => typeof m.val_top1 === "number")).toBe(true);
    const vit = await VisionTransformer.load(join(out, "model"));
    expect(vit.config.numClasses).toBe(4);
    // the stem, the MLPs' convolution, and the centre crop it was scored with (trained on random-resized crops),
    // travel with the model
    expect([vit.config.stemWidths, vit.config.mlpConvKernel, vit.config.cropPct]).toEqual([[8], 3, 0.875]);
    vit.dispose();
  });

  it("names a recipe knob that is out of range", async () => {
    const bad = join(dir, "bad.json");
    await writeFile(bad, JSON.stringify({ ...tiny, training: { ...tiny.training, labelSmoothing: 2 } }));
    await expect(loadRecipe(bad)).rejects.toThrow(/training\.labelSmoothing/);
  });
});
