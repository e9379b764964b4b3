import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { listRecipes, loadRecipe, parseRecipe, vitConfigOf } from "./recipe.js";
import { encoderTrainingOf } from "./train-encoder.js";

const dir = await mkdtemp(join(tmpdir(), "birdvlm-recipe-"));
afterAll(() => rm(dir, { recursive: true, force: true }));

const encoder = { patchSize: 8, hiddenSize: 64, depth: 3, numHeads: 4 };

describe("recipes", () => {
  it("ships the demo's and the example's recipes, every one valid", async () => {
    const names = await listRecipes();
    expect(names).toEqual(expect.arrayContaining(["demo", "vit-cub"]));
    for (const name of names) expect((await loadRecipe(name)).name).toBe(name);
  });

  it("gives the demo encoder's shape and knobs (64 wide, 3 blocks, mean pooling, patch 8 at 64 px)", async () => {
    const demo = await loadRecipe("demo");
    expect(vitConfigOf(demo, 12)).toEqual({
      imageSize: 64,
      patchSize: 8,
      stemWidths: [],
      stemKernel: 2,
      shiftedPatches: false,
      mlpConvKernel: 0,
      hiddenSize: 64,
      depth: 3,
      numHeads: 4,
      mlpSize: 128,
      pooling: "mean",
      dropPathRate: 0,
      numClasses: 12,
    });
    expect(encoderTrainingOf(demo)).toEqual({ epochs: 20, batchSize: 64, lr: 3e-3, flipProbability: 0.5 });
    expect(demo.training.mixedViewEpochs).toBe(13);
    expect(demo.vlm).toMatchObject({
      imageTokenGrid: 2,
      languageModel: { hiddenSize: 128, layers: 2, heads: 4, mlpRatio: 2, maxPositions: 512 },
      align: { epochs: 1, batchSize: 64, lr: 2e-3 },
      instruct: { epochs: 6, mixedViewEpochs: 8, batchSize: 32, lr: 3e-3, trainLanguageModel: true },
    });
  });

  it("fills in defaults and reads a recipe by path", async () => {
    const path = join(dir, "mine.json");
    await writeFile(path, JSON.stringify({ encoder }));
    const r = await loadRecipe(path);
    expect(r.name).toBe("mine");
    expect(r.encoder).toMatchObject({ mlpRatio: 4, pooling: "cls", dropPathRate: 0, stemWidths: [] });
    expect(r.training).toEqual({
      imageSize: 64,
      epochs: 20,
      batchSize: 64,
      lr: 3e-3,
      weightDecay: 0.05,
      warmupEpochs: 5,
      labelSmoothing: 0.1,
      validationFraction: 0.1,
      augmentation: {
        flipProbability: 0.5,
        scale: null,
        colorJitter: 0,
        mixupAlpha: 0,
        cutmixAlpha: 0,
        randomErasing: 0,
      },
    });
    expect(r.vlm).toBeUndefined();
  });

  it("names the file and the field of every mistake", () => {
    const bad = (json: unknown) => () => parseRecipe(json, "recipes/x.json");
    expect(bad({ encoder: { ...encoder, dept: 3 } })).toThrow(
      "recipes/x.json: unknown field 'encoder.dept' (known here: patchSize,",
    );
    expect(bad({ encoder: { ...encoder, depth: 2.5 } })).toThrow(
      "recipes/x.json: encoder.depth must be a whole number ≥ 1, got 2.5",
    );
    expect(bad({ encoder: { ...encoder, depth: undefined } })).toThrow("recipes/x.json: encoder.depth is required");
    expect(bad({ encoder: { ...encoder, pooling: "max" } })).toThrow(
      'recipes/x.json: encoder.pooling must be one of "cls", "attention", "mean", got "max"',
    );
    expect(bad({ encoder, training: { augmentation: { scale: [0.5] } } })).toThrow(
      "recipes/x.json: training.augmentation.scale must be a list of 2 numbers or null, got [0.5]",
    );
    expect(bad({ encoder: { ...encoder, numHeads: 5 } })).toThrow("must be a multiple of encoder.numHeads (5)");
    expect(bad({ encoder: { ...encoder, stemWidths: [32, 0.5] } })).toThrow(
      "recipes/x.json: encoder.stemWidths must be a list of whole numbers ≥ 1, got [32,0.5]",
    );
    expect(bad({ encoder: { ...encoder, patchSize: 8, stemWidths: [8, 16, 32, 64] } })).toThrow(
      "recipes/x.json: encoder.patchSize (8) must be a multiple of 2^4 (one halving per encoder.stemWidths stage)",
    );
    expect(bad({ encoder: { ...encoder, shiftedPatches: "yes" } })).toThrow(/encoder\.shiftedPatches must be/);
    expect(bad({ encoder: { ...encoder, patchSize: 8, stemWidths: [8], shiftedPatches: true } })).toThrow(
      "recipes/x.json: encoder.shiftedPatches and encoder.stemWidths cannot be used together",
    );
    expect(bad({ encoder: { ...encoder, stemKernel: 3 } })).toThrow(
      "recipes/x.json: encoder.stemKernel 3 (a convolutional stem) needs encoder.stemWidths",
    );
    expect(bad({ encoder: { ...encoder, stemKernel: 5 } })).toThrow(/encoder\.stemKernel must be .*≤ 3/);
    expect(bad({ encoder: { ...encoder, linearInit: "xavier" } })).toThrow(
      /encoder\.linearInit must be one of "trunc-normal", "uniform", got "xavier"/,
    );
    expect(bad([])).toThrow("recipes/x.json: the file must be a JSON object");
  });

  it("says which recipes exist when a name is unknown, and where a file is not JSON", async () => {
    await expect(loadRecipe("no-such-recipe")).rejects.toThrow(
      /no recipe named 'no-such-recipe'; the named ones are .*demo/,
    );
    const path = join(dir, "broken.json");
    await writeFile(path, "{ encoder: ");
    await expect(loadRecipe(path)).rejects.toThrow(`${path}: not valid JSON`);
  });

  it("refuses augmentations that in-memory encoder training doesn't do", async () => {
    await expect(async () => encoderTrainingOf(await loadRecipe("vit-cub"))).rejects.toThrow(
      /vit-cub.json: training.augmentation asks for a random-resized-crop/,
    );
  });
});
