// Trains a small ViT from scratch on a CUB-200-2011-layout folder and prints per-epoch train / validation
// accuracy; writes checkpoints, the best model (timm layout), metrics.jsonl, curves.png and an attention overlay.
//
//   npx tsx examples/train-vit-cub.ts --cub ../shared/data/cub-subset-train [--recipe vit-cub] [--classes 10]
//       [--image-size 64] [--epochs 30] [--batch 32] [--patch 8] [--width 192] [--depth 6] [--heads 3]
//       [--pooling attention|cls|mean] [--lr 1e-3] [--drop-path 0.1] [--val-every 5] [--out runs/vit-cub] [--resume] [--seed 0]
//
// The model's shape, its training knobs and augmentation come from a recipe (default `vit-cub`:
// packages/vlm/recipes/vit-cub.json, whose values are the defaults shown above); the flags override it.
// The validation set is split out of the folder's images: every `--val-every`-th image of each class.
import { mkdir, writeFile } from "node:fs/promises";
import "../scripts/tfjs-resolve-hook.js";
import { join } from "node:path";
import { parseArgs } from "node:util";
import type { Pooling } from "@birdvlm/vit";

const { values: args } = parseArgs({
  options: {
    cub: { type: "string" },
    recipe: { type: "string", default: "vit-cub" },
    classes: { type: "string", default: "10" },
    "image-size": { type: "string" },
    epochs: { type: "string" },
    batch: { type: "string" },
    patch: { type: "string" },
    width: { type: "string" },
    depth: { type: "string" },
    heads: { type: "string" },
    pooling: { type: "string" },
    lr: { type: "string" },
    "drop-path": { type: "string" },
    "val-every": { type: "string", default: "5" },
    out: { type: "string", default: "runs/vit-cub" },
    resume: { type: "boolean", default: false },
    seed: { type: "string", default: "0" },
    backend: { type: "string" },
    help: { type: "boolean", short: "h" },
  },
});
const usage =
  "usage: npx tsx examples/train-vit-cub.ts --cub <CUB root> [--recipe vit-cub] [--classes 10] [--image-size 64]\n" +
  "       [--epochs 30] [--batch 32] [--patch 8] [--width 192] [--depth 6] [--heads 3] [--pooling attention|cls|mean]\n" +
  "       [--lr 1e-3] [--drop-path 0.1] [--val-every 5] [--out runs/vit-cub] [--resume] [--seed 0] [--backend <name>]";
if (args.help) {
  console.log(usage);
  process.exit(0);
}

if (!args.cub) {
  console.error(usage);
  process.exit(2);
}
const { initBackend, tf } = await import("@birdvlm/core");
const { CubDataset, ImagePipeline, createImageLoader } = await import("@birdvlm/data");
const { VisionTransformer, renderAttentionOverlay, trainClassifier } = await import("@birdvlm/vit");
const { loadRecipe, vitConfigOf } = await import("@birdvlm/vlm");
const recipe = await loadRecipe(args.recipe!);
// a flag given on the command line overrides the recipe's value
const flag = (name: keyof typeof args, fallback: number) => (args[name] === undefined ? fallback : Number(args[name]));
const numClasses = Number(args.classes);
const size = flag("image-size", recipe.training.imageSize);
const epochs = flag("epochs", recipe.training.epochs);
const batchSize = flag("batch", recipe.training.batchSize);
const { augmentation } = recipe.training;
const valEvery = Number(args["val-every"]);
const seed = Number(args.seed);
const out = args.out!;

const backend = await initBackend(args.backend as Parameters<typeof initBackend>[0]);
const cub = await CubDataset.open(args.cub);

// The first N classes (their class indices are 0..N-1); every `valEvery`-th image of a class goes to validation.
const trainPositions: number[] = [];
const valPositions: number[] = [];
const seenPerClass = new Map<number, number>();
for (let i = 0; i < cub.size; i++) {
  const { classIndex } = cub.get(i);
  if (classIndex >= numClasses) continue;
  const k = seenPerClass.get(classIndex) ?? 0;
  seenPerClass.set(classIndex, k + 1);
  (k % valEvery === valEvery - 1 ? valPositions : trainPositions).push(i);
}
const train = cub.subset(trainPositions);
const val = cub.subset(valPositions);
const keep = seenPerClass;
console.log(
  `recipe ${recipe.name} (${recipe.path}); ${cub.dir}: ${keep.size} classes, ${train.size} training and ${val.size} validation images, ${size} px, backend ${backend.name}`,
);

const width = flag("width", recipe.encoder.hiddenSize);
const model = new VisionTransformer(
  {
    ...vitConfigOf(recipe, keep.size, size),
    patchSize: flag("patch", recipe.encoder.patchSize),
    hiddenSize: width,
    depth: flag("depth", recipe.encoder.depth),
    numHeads: flag("heads", recipe.encoder.numHeads),
    mlpSize: Math.round(recipe.encoder.mlpRatio * width),
    pooling: (args.pooling as Pooling | undefined) ?? recipe.encoder.pooling,
    dropPathRate: flag("drop-path", recipe.encoder.dropPathRate),
  },
  { seed },
);
console.log(
  `model: ${(model.parameterCount() / 1e6).toFixed(2)} M parameters, ${model.config.depth} blocks, width ${model.config.hiddenSize}, pooling ${model.config.pooling}`,
);

const jitter = augmentation.colorJitter;
const trainPipe = new ImagePipeline({
  size,
  mode: "train",
  mean: model.mean,
  std: model.std,
  ...(augmentation.scale ? { scale: augmentation.scale } : {}),
  flipProbability: augmentation.flipProbability,
  colorJitter: jitter > 0 ? { brightness: jitter, contrast: jitter, saturation: jitter } : false,
});
const evalPipe = new ImagePipeline({ size, mode: "eval", mean: model.mean, std: model.std });

// Decoding and augmentation run ahead of the model (prefetch); each epoch's order and augmentation derive
// from the seed and the epoch, so a resumed run sees the same batches.
const trainLoader = createImageLoader({
  dataset: train,
  pipeline: trainPipe,
  batchSize,
  shuffle: true,
  dropLast: true,
  seed,
});
const valLoader = createImageLoader({ dataset: val, pipeline: evalPipe, batchSize });

const stepsPerEpoch = trainLoader.length;
const started = performance.now();
await mkdir(out, { recursive: true });
const result = await trainClassifier({
  model,
  train: (epoch) => trainLoader.epoch(epoch),
  val: () => valLoader.epoch(0),
  epochs,
  stepsPerEpoch,
  lr: flag("lr", recipe.training.lr),
  outDir: out,
  resume: args.resume,
  seed,
  onEpoch: (m) => {
    const secs = ((performance.now() - started) / 1000).toFixed(0);
    console.log(
      `epoch ${String(m.epoch + 1).padStart(3)}  train acc ${(100 * m.trainAccuracy).toFixed(1).padStart(5)}%  ` +
        `val top-1 ${(100 * m.valTop1!).toFixed(1).padStart(5)}%  top-5 ${(100 * m.valTop5!).toFixed(1).padStart(5)}%  ` +
        `val loss ${m.valLoss!.toFixed(3)}  (${secs} s)`,
    );
  },
});
const best = result.best;
console.log(
  `stopped (${result.stopReason}) after ${result.step} steps in ${result.elapsedSec.toFixed(0)} s; ` +
    `best val top-1 ${best ? (100 * best.value).toFixed(1) : "?"}% at step ${best?.step ?? "?"}; best model in ${result.bestDir}; curves in ${join(out, "curves.png")}`,
);

// Where the trained model looks: attention rollout over the first validation image, drawn over the very
// pixels the model saw (the evaluation crop, un-normalized) and enlarged to 256 px.
const firstVal = val.get(0);
const probe = await evalPipe.batch([firstVal.path]);
const heat = model.attentionRollout(probe);
const map = tf.tidy(() => tf.squeeze(heat, [0]));
const rgb = tf.tidy(() =>
  tf.clipByValue(tf.round(tf.mul(tf.add(tf.mul(tf.squeeze(probe, [0]), model.std), model.mean), 255)), 0, 255),
);
const pixels = { data: Uint8Array.from(await rgb.data()), width: size, height: size, channels: 3 as const };
const png = await renderAttentionOverlay(pixels, map, { size: 256 });
await writeFile(join(out, "attention.png"), png);
tf.dispose([probe, heat, map, rgb]);
console.log(`attention rollout of ${firstVal.relativePath} in ${join(out, "attention.png")}`);
model.dispose();
