/**
 * Recipes: model shapes and training knobs as named JSON files (`packages/vlm/recipes/<name>.json`), read as data
 * and diffed as data, like nanoGPT's `config/*.py`. The CLI, the demo and the examples build their models from
 * them. Every knob has a typed default here ({@link RECIPE_SCHEMA}); a recipe file writes what it chooses.
 */
import { readdir, readFile } from "node:fs/promises";
import { basename, extname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { LinearInit } from "@birdvlm/core";
import type { Pooling, ViTConfig } from "@birdvlm/vit";
import { applySchema, SchemaError, type Schema } from "./recipe-schema.js";

/** The shape of the vision encoder (a ViT). */
export interface EncoderRecipe {
  /** Side of a square patch in pixels. */
  patchSize: number;
  /**
   * Widths of a hierarchical (hMLP) stem inside each patch: stride-2 `2 x 2` convolutions with LayerNorm and GELU
   * before the last one to `hiddenSize` (ViT's `stemWidths`); `patchSize` must be a multiple of `2^n`. Default `[]`.
   */
  stemWidths: number[];
  /**
   * The stem stages' kernel (ViT's `stemKernel`): 2, the hMLP stem's `2 x 2` inside each patch; 3, a convolutional
   * stem's overlapping stride-2 `3 x 3` convolutions over the whole image (Xiao et al. 2021). Default 2.
   */
  stemKernel: number;
  /**
   * How the linear layers start (the ViT's `linearInit`): `trunc-normal`, timm's std 0.02 with zero biases (the
   * default), or `uniform`, PyTorch's own init (weights and biases in ±1/√fan_in). The stem's convolutions
   * start He-initialized either way.
   */
  linearInit: LinearInit;
  /**
   * Shifted patch tokenization (Lee et al. 2021): each patch also sees the image shifted by half a patch in the
   * four diagonal directions (ViT's `shiftedPatches`); not with `stemWidths`. Default `false`.
   */
  shiftedPatches: boolean;
  /**
   * Kernel of a depthwise convolution over the token grid inside each block's MLP (PVT v2's convolutional
   * feed-forward; the ViT's `mlpConvKernel`): 0, the default, a plain MLP; 3, a `3 x 3` convolution.
   */
  mlpConvKernel: number;
  /** Token width D. */
  hiddenSize: number;
  /** Transformer blocks. */
  depth: number;
  numHeads: number;
  /** The MLP's width as a multiple of `hiddenSize` (ViT's `mlpSize` = `mlpRatio` × `hiddenSize`). Default 4. */
  mlpRatio: number;
  /** How the features are pooled for the classifier head. Default `cls`. */
  pooling: Pooling;
  /** Stochastic depth rate (rises linearly over the blocks). Default 0. */
  dropPathRate: number;
  /** Per-channel mean and std the encoder normalizes with; absent: the ViT's defaults. */
  mean?: [number, number, number];
  std?: [number, number, number];
}

/** Training-time augmentation of the encoder's images. */
export interface AugmentationRecipe {
  /** Probability of a horizontal flip. Default 0.5. */
  flipProbability: number;
  /** Area range of a random-resized-crop, or `null` for none (the image as decoded). Default `null`. */
  scale: [number, number] | null;
  /** Colour jitter strength (brightness, contrast and saturation), 0 for none. Default 0. */
  colorJitter: number;
  /** Mixup's Beta(α, α), 0 for none. Default 0. */
  mixupAlpha: number;
  /** Cutmix's Beta(α, α), 0 for none. Default 0. */
  cutmixAlpha: number;
  /** Probability that an image gets a rectangle erased (timm's random erasing), 0 for none. Default 0. */
  randomErasing: number;
}

/** How the encoder is trained as a classifier. */
export interface TrainingRecipe {
  /** Side of the square images the encoder sees. Default 64. */
  imageSize: number;
  /** Default 20. */
  epochs: number;
  /**
   * Epochs when the demo trains on two views of each image (box crops and whole pictures); absent: half of
   * `epochs`, rounded up.
   */
  mixedViewEpochs?: number;
  /** Default 64. */
  batchSize: number;
  /** Peak learning rate. Default 3e-3. */
  lr: number;
  /** AdamW weight decay. Default 0.05. */
  weightDecay: number;
  /** Epochs of linear warmup before the cosine. Default 5. */
  warmupEpochs: number;
  /** Label smoothing. Default 0.1. */
  labelSmoothing: number;
  /** Decay of an exponential moving average of the weights (validated, kept as the model), or absent for none. */
  emaDecay?: number;
  /** Fraction of each class of the train split held out for validation (`train-vit`). Default 0.1. */
  validationFraction: number;
  augmentation: AugmentationRecipe;
}

/** One VLM training stage (align or instruct). */
export interface StageRecipe {
  epochs: number;
  /** Epochs when training mixes two views of each image (the demo with bounding boxes); absent: `epochs`. */
  mixedViewEpochs?: number;
  batchSize: number;
  lr: number;
  /** Train every weight of the language model too (instruct only). Default false. */
  trainLanguageModel: boolean;
  /**
   * Random-resized-crop (area range `scale`, null for none) and flips of the in-memory images each time a batch is
   * drawn (`randomCropFlip`). Default: none.
   */
  augmentation: { scale: [number, number] | null; flipProbability: number };
}

/** The language model and connector of a VLM built from scratch (the demo's small Phi-3). */
export interface VlmRecipe {
  /** The patch grid is pooled to `imageTokenGrid` × `imageTokenGrid` image tokens. Default 2. */
  imageTokenGrid: number;
  /**
   * One more image token, first: the encoder's pooled embedding (what its classifier head reads; the projector's
   * `withPooled`). Default false.
   */
  pooledToken: boolean;
  /**
   * How the projector starts: `random`, or `head`: the first C units of its first layer copy the encoder's
   * classifier head (C classes), so the class evidence the head learned reaches the LM from the first step.
   * Default `random`.
   */
  projectorInit: "random" | "head";
  /**
   * What the instruct stage teaches as the answer to "what species is this?": `label` (the image's species) or
   * `encoder` (a name drawn from the encoder head's belief about the image each time it is seen: distillation, so
   * the language path says what the encoder sees instead of memorising the training photos). Default `label`.
   */
  speciesTargets: "label" | "encoder";
  /** With `speciesTargets: "encoder"`: the head's softmax temperature (default 1) and the share of draws that keep the label (default 0). */
  distillation: { temperature: number; labelShare: number };
  languageModel: {
    /** Default 128. */
    hiddenSize: number;
    /** Decoder layers. Default 2. */
    layers: number;
    /** Default 4. */
    heads: number;
    /** The MLP's width as a multiple of `hiddenSize`. Default 2. */
    mlpRatio: number;
    /** Longest sequence. Default 512. */
    maxPositions: number;
  };
  align: StageRecipe;
  instruct: StageRecipe;
}

/** A named recipe: the encoder's shape, how it is trained, and optionally the VLM built on it. */
export interface Recipe {
  /** The file's name without `.json`. */
  name: string;
  /** The file it was read from. */
  path: string;
  /** What the recipe is for and what it measured. */
  description: string;
  encoder: EncoderRecipe;
  training: TrainingRecipe;
  /** Present when the recipe also shapes a VLM (as the demo's does). */
  vlm?: VlmRecipe;
}

const stage = (epochs: number, batchSize: number, lr: number): Schema => ({
  epochs: { kind: "number", min: 0, default: epochs },
  mixedViewEpochs: { kind: "number", min: 0, optional: true },
  batchSize: { kind: "number", integer: true, min: 1, default: batchSize },
  lr: { kind: "number", min: 0, default: lr },
  trainLanguageModel: { kind: "boolean", default: false },
  augmentation: {
    kind: "object",
    fields: {
      scale: { kind: "numbers", length: 2, default: null, nullable: true },
      flipProbability: { kind: "number", min: 0, max: 1, default: 0 },
    },
  },
});

/** Every knob a recipe file may hold, with its kind, limits and default. Add a knob here and in the types above. */
export const RECIPE_SCHEMA: Schema = {
  description: { kind: "string", default: "" },
  encoder: {
    kind: "object",
    fields: {
      patchSize: { kind: "number", integer: true, min: 1 },
      stemWidths: { kind: "numbers", integer: true, min: 1, default: [] },
      stemKernel: { kind: "number", integer: true, min: 2, max: 3, default: 2 },
      linearInit: { kind: "string", values: ["trunc-normal", "uniform"], default: "trunc-normal" },
      shiftedPatches: { kind: "boolean", default: false },
      mlpConvKernel: { kind: "number", integer: true, min: 0, default: 0 },
      hiddenSize: { kind: "number", integer: true, min: 1 },
      depth: { kind: "number", integer: true, min: 1 },
      numHeads: { kind: "number", integer: true, min: 1 },
      mlpRatio: { kind: "number", min: 0, default: 4 },
      pooling: { kind: "string", values: ["cls", "attention", "mean"], default: "cls" },
      dropPathRate: { kind: "number", min: 0, max: 1, default: 0 },
      mean: { kind: "numbers", length: 3, optional: true },
      std: { kind: "numbers", length: 3, optional: true },
    },
  },
  training: {
    kind: "object",
    fields: {
      imageSize: { kind: "number", integer: true, min: 1, default: 64 },
      epochs: { kind: "number", min: 0, default: 20 },
      mixedViewEpochs: { kind: "number", min: 0, optional: true },
      batchSize: { kind: "number", integer: true, min: 1, default: 64 },
      lr: { kind: "number", min: 0, default: 3e-3 },
      weightDecay: { kind: "number", min: 0, default: 0.05 },
      warmupEpochs: { kind: "number", min: 0, default: 5 },
      labelSmoothing: { kind: "number", min: 0, max: 1, default: 0.1 },
      emaDecay: { kind: "number", min: 0, max: 0.99999, optional: true },
      validationFraction: { kind: "number", min: 0.01, max: 0.5, default: 0.1 },
      augmentation: {
        kind: "object",
        fields: {
          flipProbability: { kind: "number", min: 0, max: 1, default: 0.5 },
          scale: { kind: "numbers", length: 2, nullable: true, default: null },
          colorJitter: { kind: "number", min: 0, default: 0 },
          mixupAlpha: { kind: "number", min: 0, default: 0 },
          cutmixAlpha: { kind: "number", min: 0, default: 0 },
          randomErasing: { kind: "number", min: 0, max: 1, default: 0 },
        },
      },
    },
  },
  vlm: {
    kind: "object",
    optional: true,
    fields: {
      imageTokenGrid: { kind: "number", integer: true, min: 1, default: 2 },
      pooledToken: { kind: "boolean", default: false },
      projectorInit: { kind: "string", values: ["random", "head"], default: "random" },
      speciesTargets: { kind: "string", values: ["label", "encoder"], default: "label" },
      distillation: {
        kind: "object",
        fields: {
          temperature: { kind: "number", min: 0.01, default: 1 },
          labelShare: { kind: "number", min: 0, max: 1, default: 0 },
        },
      },
      languageModel: {
        kind: "object",
        fields: {
          hiddenSize: { kind: "number", integer: true, min: 1, default: 128 },
          layers: { kind: "number", integer: true, min: 1, default: 2 },
          heads: { kind: "number", integer: true, min: 1, default: 4 },
          mlpRatio: { kind: "number", min: 0, default: 2 },
          maxPositions: { kind: "number", integer: true, min: 1, default: 512 },
        },
      },
      align: { kind: "object", fields: stage(1, 64, 2e-3) },
      instruct: { kind: "object", fields: stage(4, 32, 3e-4) },
    },
  },
};

/** The folder of the named recipes shipped with `@birdvlm/vlm` (`recipes/`, beside `src/` and `dist/`). */
export const RECIPES_DIR = fileURLToPath(new URL("../recipes/", import.meta.url));

/** The names of the recipes shipped in {@link RECIPES_DIR}, sorted. */
export async function listRecipes(): Promise<string[]> {
  return (await readdir(RECIPES_DIR))
    .filter((n) => n.endsWith(".json"))
    .map((n) => n.slice(0, -".json".length))
    .sort();
}

/**
 * Reads a recipe by name (`"demo"`: `recipes/demo.json` of this package) or by path (anything with a `/` or
 * ending in `.json`), checks it against {@link RECIPE_SCHEMA} and fills in the defaults.
 * @throws an error naming the file and the field for a missing, misspelt or out-of-range knob, or, for an unknown
 *   name, one listing the shipped recipes.
 */
export async function loadRecipe(nameOrPath: string): Promise<Recipe> {
  const isPath = nameOrPath.includes("/") || nameOrPath.includes("\\") || nameOrPath.endsWith(".json");
  if (!isPath && !/^[a-z0-9][a-z0-9._-]*$/i.test(nameOrPath))
    throw new Error(`recipe: '${nameOrPath}' is neither a recipe name nor a path to a .json file`);
  const path = isPath ? resolve(nameOrPath) : resolve(RECIPES_DIR, `${nameOrPath}.json`);
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (e) {
    if (isPath) throw new Error(`recipe: cannot read ${path} (${(e as Error).message})`);
    throw new Error(`recipe: no recipe named '${nameOrPath}'; the named ones are ${(await listRecipes()).join(", ")}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new SchemaError(`${path}: not valid JSON (${(e as Error).message})`);
  }
  return parseRecipe(json, path);
}

/** Checks a recipe's JSON value (read from `path`, named in errors) and fills in the defaults. */
export function parseRecipe(json: unknown, path: string): Recipe {
  const checked = applySchema(RECIPE_SCHEMA, json, path) as Omit<Recipe, "name" | "path">;
  const e = checked.encoder;
  if (e.hiddenSize % e.numHeads !== 0)
    throw new SchemaError(
      `${path}: encoder.hiddenSize (${e.hiddenSize}) must be a multiple of encoder.numHeads (${e.numHeads})`,
    );
  if (e.patchSize % 2 ** e.stemWidths.length !== 0)
    throw new SchemaError(
      `${path}: encoder.patchSize (${e.patchSize}) must be a multiple of 2^${e.stemWidths.length} (one halving per encoder.stemWidths stage)`,
    );
  if (e.stemKernel === 3 && !e.stemWidths.length)
    throw new SchemaError(`${path}: encoder.stemKernel 3 (a convolutional stem) needs encoder.stemWidths`);
  if (e.shiftedPatches && e.stemWidths.length)
    throw new SchemaError(`${path}: encoder.shiftedPatches and encoder.stemWidths cannot be used together`);
  if (checked.training.imageSize % e.patchSize !== 0)
    throw new SchemaError(
      `${path}: training.imageSize (${checked.training.imageSize}) must be a multiple of encoder.patchSize (${e.patchSize})`,
    );
  return { name: basename(path, extname(path)), path, ...checked };
}

/**
 * The ViT configuration of a recipe's encoder, at `imageSize` (default the recipe's) with a head of
 * `numClasses` classes (0: none).
 */
export function vitConfigOf(recipe: Recipe, numClasses: number, imageSize?: number): Partial<ViTConfig> {
  const e = recipe.encoder;
  return {
    imageSize: imageSize ?? recipe.training.imageSize,
    patchSize: e.patchSize,
    stemWidths: e.stemWidths,
    stemKernel: e.stemKernel,
    shiftedPatches: e.shiftedPatches,
    mlpConvKernel: e.mlpConvKernel,
    hiddenSize: e.hiddenSize,
    depth: e.depth,
    numHeads: e.numHeads,
    mlpSize: Math.round(e.mlpRatio * e.hiddenSize),
    pooling: e.pooling,
    dropPathRate: e.dropPathRate,
    numClasses,
    ...(e.mean ? { mean: e.mean } : {}),
    ...(e.std ? { std: e.std } : {}),
  };
}
