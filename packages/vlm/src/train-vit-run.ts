/**
 * Trains a ViT classifier from scratch on a CUB-layout folder as a recipe says, keeping the folder's official
 * split: validation is carved (stratified, seeded) out of the train split for model selection, and the selected
 * model is scored once on the test split. Images go through the decoded-pixel cache (decoded once at 1.15x the
 * train size) and the uint8 augmentation of `@birdvlm/data`; training is `@birdvlm/vit`'s `trainClassifier`.
 * Used by `birdvlm train-vit` and `examples/train-vit-cub.ts`.
 */
import { join } from "node:path";
import { mkdir } from "node:fs/promises";
import type { ProgressStream } from "@birdvlm/core";
import { CubDataset, DEFAULT_CROP_PCT, PixelCache, createCachedImageLoader } from "@birdvlm/data";
import { type EpochMetrics, VisionTransformer, evaluateClassifier, trainClassifier } from "@birdvlm/vit";
import { type Recipe, vitConfigOf } from "./recipe.js";

/** Recipe knobs a caller (a flag) may override. */
export interface TrainVitOverrides {
  imageSize?: number;
  epochs?: number;
  batchSize?: number;
  lr?: number;
  mixupAlpha?: number;
  cutmixAlpha?: number;
  randomErasing?: number;
  emaDecay?: number;
  validationFraction?: number;
}

/** Options of {@link trainVitOnCub}. */
export interface TrainVitOnCubOptions {
  /** A CUB-200-2011-layout folder. */
  data: string;
  /** Run folder: `metrics.jsonl`, `curves.png`, `checkpoints/`, the selected model in `model/`. */
  out: string;
  recipe: Recipe;
  overrides?: TrainVitOverrides;
  /** Keep only the first N classes. */
  classes?: number;
  /** Seed of the weights, the data order, the augmentation and the validation split. Default 0. */
  seed?: number;
  /** Crop to the bounding boxes (when the folder has them). Default false. */
  cropToBox?: boolean;
  /** Where the pixel caches are kept. Default `<out>/pixel-cache`. */
  cacheDir?: string;
  /** Stop after this many optimizer steps (tests). */
  maxSteps?: number;
  /** Lasting lines (epochs, the final scores). */
  log?: (line: string) => void;
  /** The Trainer's live progress line (redrawn in place with the time left on a TTY). Default `true` (stderr). */
  progress?: boolean | ProgressStream;
}

/** What {@link trainVitOnCub} returns. */
export interface TrainVitOnCubResult {
  /** Image ids of each part (disjoint). */
  trainIds: number[];
  validationIds: number[];
  testIds: number[];
  history: EpochMetrics[];
  /** Folder of the selected model (timm layout). */
  modelDir: string;
  /** Scores of the selected model on the test split, when it has images. */
  test?: { top1: number; top5: number; count: number };
  minutes: number;
}

/** `NN.N%`. */
const pct = (x: number) => `${(100 * x).toFixed(1)}%`;

/** Trains, selects on validation, scores once on test; see the file's comment. */
export async function trainVitOnCub(o: TrainVitOnCubOptions): Promise<TrainVitOnCubResult> {
  const log = o.log ?? (() => undefined);
  const seed = o.seed ?? 0;
  const t = { ...o.recipe.training, ...o.recipe.training.augmentation, ...definedOnly(o.overrides ?? {}) };
  let cub = await CubDataset.open(o.data);
  if (o.classes) {
    const keep: number[] = [];
    for (let i = 0; i < cub.size; i++) if (cub.get(i).classIndex < o.classes) keep.push(i);
    cub = cub.subset(keep);
  }
  const numClasses = o.classes ? Math.min(o.classes, cub.classes.length) : cub.classes.length;
  const { train, validation } = cub.split("train").holdout(t.validationFraction, seed);
  const test = cub.split("test");
  const ids = (v: CubDataset) => Array.from({ length: v.size }, (_, i) => v.get(i).imageId);
  const size = t.imageSize;
  const stored = Math.round(size * 1.15);
  log(
    `train-vit: ${o.data}: ${train.size} train / ${validation.size} validation (held out of the train split) / ${test.size} test images, ${numClasses} classes, ${size} px`,
  );

  const cacheDir = o.cacheDir ?? join(o.out, "pixel-cache");
  await mkdir(cacheDir, { recursive: true });
  const started = performance.now();
  const cacheOf = (v: CubDataset, name: string) =>
    PixelCache.openOrBuild(
      Array.from({ length: v.size }, (_, i) => {
        const im = v.get(i);
        return { path: im.path, bbox: o.cropToBox ? im.bbox : undefined };
      }),
      join(cacheDir, `${name}-${stored}${o.cropToBox ? "-box" : ""}.pix`),
      { shorterSide: stored },
    );
  const [trainCache, valCache] = [await cacheOf(train, "train"), await cacheOf(validation, "validation")];
  log(`train-vit: pixel caches ready in ${((performance.now() - started) / 1000).toFixed(0)} s (${cacheDir})`);

  // Trained on random-resized crops, the model is evaluated on timm's centre crop (87.5% of the shorter side), and
  // it keeps that in its config so every later use (the demo, `ask`, `eval`) sees images the same way.
  const cropPct = t.scale ? DEFAULT_CROP_PCT : 1;
  const model = new VisionTransformer(
    { ...vitConfigOf(o.recipe, numClasses, size), cropPct },
    { seed, linearInit: o.recipe.encoder.linearInit },
  );
  const norm = { mean: model.mean, std: model.std };
  const trainLoader = createCachedImageLoader({
    dataset: train,
    cache: trainCache,
    augment: {
      size,
      mode: "train",
      ...norm,
      ...(t.scale ? { scale: t.scale } : { scale: [1, 1], ratio: [1, 1] }),
      flipProbability: t.flipProbability,
      colorJitter:
        t.colorJitter > 0 ? { brightness: t.colorJitter, contrast: t.colorJitter, saturation: t.colorJitter } : false,
    },
    batchSize: Math.min(t.batchSize, train.size),
    shuffle: true,
    dropLast: true,
    seed,
  });
  const evalLoader = (dataset: CubDataset, cache: PixelCache) =>
    createCachedImageLoader({ dataset, cache, augment: { size, mode: "eval", cropPct, ...norm }, batchSize: 64 });
  const valLoader = evalLoader(validation, valCache);
  const result = await trainClassifier({
    model,
    train: (epoch) => trainLoader.epoch(epoch),
    val: validation.size ? () => valLoader.epoch(0) : undefined,
    epochs: t.epochs,
    stepsPerEpoch: trainLoader.length,
    lr: t.lr,
    weightDecay: t.weightDecay,
    warmupEpochs: t.warmupEpochs,
    labelSmoothing: t.labelSmoothing,
    patience: t.epochs,
    mix: t.mixupAlpha > 0 || t.cutmixAlpha > 0 ? { mixupAlpha: t.mixupAlpha, cutmixAlpha: t.cutmixAlpha } : undefined,
    randomErasing: t.randomErasing > 0 ? { probability: t.randomErasing } : undefined,
    emaDecay: t.emaDecay,
    outDir: o.out,
    seed,
    maxSteps: o.maxSteps,
    progress: o.progress ?? true,
    onEpoch: (m) =>
      log(
        `epoch ${m.epoch + 1}/${t.epochs}  train acc ${pct(m.trainAccuracy)}  val top-1 ${m.valTop1 === undefined ? "-" : pct(m.valTop1)}  top-5 ${m.valTop5 === undefined ? "-" : pct(m.valTop5)}  (${((performance.now() - started) / 60000).toFixed(1)} min)`,
      ),
  });
  await Promise.all([trainCache.close(), valCache.close()]);

  // The selected model: the best validation epoch (its EMA weights with an EMA), else the last weights.
  const selected = result.bestDir ? await VisionTransformer.load(result.bestDir) : model;
  const modelDir = join(o.out, "model");
  await selected.save(modelDir);
  let testScore: TrainVitOnCubResult["test"];
  if (test.size) {
    const testCache = await cacheOf(test, "test");
    const ev = await evaluateClassifier(selected, evalLoader(test, testCache).epoch(0));
    await testCache.close();
    testScore = { top1: ev.top1, top5: ev.top5, count: ev.count };
  }
  if (selected !== model) selected.dispose();
  model.dispose();
  const minutes = (performance.now() - started) / 60000;
  log(`train-vit: ${result.step} steps in ${minutes.toFixed(1)} min; model in ${modelDir}`);
  return {
    trainIds: ids(train),
    validationIds: ids(validation),
    testIds: ids(test),
    history: result.history,
    modelDir,
    test: testScore,
    minutes,
  };
}

/** The line a run ends with: `test top-1: NN.N% (top-5 NN.N%, N images)`. */
export function testLine(test: { top1: number; top5: number; count: number }): string {
  return `test top-1: ${pct(test.top1)} (top-5 ${pct(test.top5)}, ${test.count} images)`;
}

function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
