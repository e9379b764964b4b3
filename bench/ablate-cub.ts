// Ablations for the `cub-scratch` recipe, on a validation split carved from cub-subset-train (never on a test
// set): each named variant trains the same number of epochs from the same seed, and prints (and appends to
// --results as JSON lines) its final and best validation top-1 / top-5 and its wall-clock minutes.
//
//   npx tsx bench/ablate-cub.ts [--data ../shared/data/cub-subset-train] [--epochs 8] [--variants base,mix,...]
//       [--width 128] [--depth 4] [--heads 4] [--size 64] [--patch 8] [--results /tmp/ablate.jsonl] [--val-fraction 0.1]
//   npx tsx bench/ablate-cub.ts --layout /tmp/cub-val     # the same split as a CUB folder for cub_train_torch.py
//
// The split is `CubDataset.split("train").holdout(valFraction, 0)`: stratified, seeded, the same every run.
import { appendFileSync } from "node:fs";
import { mkdir, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { parseArgs } from "node:util";
import "../scripts/tfjs-resolve-hook.js";
import type { MixOptions, Pooling, RandomErasingOptions } from "@birdvlm/vit";

const { initBackend } = await import("@birdvlm/core");
const { CubDataset, PixelCache, createCachedImageLoader } = await import("@birdvlm/data");
const { VisionTransformer, trainClassifier } = await import("@birdvlm/vit");

const { values: a } = parseArgs({
  options: {
    data: { type: "string", default: "../shared/data/cub-subset-train" },
    epochs: { type: "string", default: "8" },
    variants: { type: "string", default: "base,mix,erase,ema,cls,lr2x" },
    width: { type: "string", default: "128" },
    depth: { type: "string", default: "4" },
    heads: { type: "string", default: "4" },
    size: { type: "string", default: "64" },
    patch: { type: "string", default: "8" },
    "val-fraction": { type: "string", default: "0.1" },
    results: { type: "string", default: join(tmpdir(), "birdvlm-ablate.jsonl") },
    layout: { type: "string" },
  },
});

interface Variant {
  pooling: Pooling;
  lr: number;
  mix?: MixOptions;
  randomErasing?: RandomErasingOptions;
  emaDecay?: number;
  dropPathRate: number;
  scale: [number, number];
  /** The MLPs' depthwise convolution over the token grid (ViT's `mlpConvKernel`); 0 or absent: a plain MLP. */
  mlpConvKernel?: number;
}
const base: Variant = { pooling: "attention", lr: 1e-3, dropPathRate: 0.1, scale: [0.35, 1] };
const VARIANTS: Record<string, Variant> = {
  base,
  mix: { ...base, mix: { mixupAlpha: 0.8, cutmixAlpha: 1 } },
  erase: { ...base, randomErasing: { probability: 0.25 } },
  ema: { ...base, emaDecay: 0.998 },
  cls: { ...base, pooling: "cls" },
  lr2x: { ...base, lr: 2e-3 },
  scale08: { ...base, scale: [0.08, 1] },
  dp0: { ...base, dropPathRate: 0 },
  clsdp0: { ...base, pooling: "cls", dropPathRate: 0 },
  convmlp: { ...base, mlpConvKernel: 3 },
  all: { ...base, mix: { mixupAlpha: 0.8, cutmixAlpha: 1 }, randomErasing: { probability: 0.25 }, emaDecay: 0.998 },
};

const cub = await CubDataset.open(a.data!);
const { train, validation } = cub.split("train").holdout(Number(a["val-fraction"]), 0);

if (a.layout) {
  // A CUB-layout folder of symlinks: the train part marked 1, the validation part marked 0 (cub_train_torch.py's "test").
  const root = join(a.layout, "CUB_200_2011");
  const lines = { images: [] as string[], labels: [] as string[], split: [] as string[] };
  let id = 0;
  for (const [view, flag] of [
    [train, 1],
    [validation, 0],
  ] as const) {
    for (let i = 0; i < view.size; i++) {
      const img = view.get(i);
      id++;
      const link = join(root, "images", img.relativePath);
      await mkdir(dirname(link), { recursive: true });
      await symlink(img.path, link).catch(() => undefined);
      lines.images.push(`${id} ${img.relativePath}`);
      lines.labels.push(`${id} ${img.classId}`);
      lines.split.push(`${id} ${flag}`);
    }
  }
  await writeFile(join(root, "images.txt"), lines.images.join("\n") + "\n");
  await writeFile(join(root, "image_class_labels.txt"), lines.labels.join("\n") + "\n");
  await writeFile(join(root, "train_test_split.txt"), lines.split.join("\n") + "\n");
  await writeFile(join(root, "classes.txt"), cub.classes.map((c) => `${c.id} ${c.name}`).join("\n") + "\n");
  console.log(`${root}: ${train.size} train (1) and ${validation.size} validation (0) images as symlinks`);
  process.exit(0);
}

const backend = await initBackend("auto");
const size = Number(a.size);
const epochs = Number(a.epochs);
const stored = Math.round(size * 1.15);
const sources = (v: typeof train) => Array.from({ length: v.size }, (_, i) => ({ path: v.get(i).path }));
const trainCache = await PixelCache.openOrBuild(sources(train), join(tmpdir(), `birdvlm-ablate-train-${stored}.pix`), {
  shorterSide: stored,
});
const valCache = await PixelCache.openOrBuild(sources(validation), join(tmpdir(), `birdvlm-ablate-val-${stored}.pix`), {
  shorterSide: stored,
});
console.log(`${train.size} train / ${validation.size} validation images, ${size} px, backend ${backend.name}`);

for (const name of a.variants!.split(",")) {
  const v = VARIANTS[name];
  if (!v) throw new Error(`unknown variant '${name}' (known: ${Object.keys(VARIANTS).join(", ")})`);
  const width = Number(a.width);
  const model = new VisionTransformer(
    {
      imageSize: size,
      patchSize: Number(a.patch),
      hiddenSize: width,
      depth: Number(a.depth),
      numHeads: Number(a.heads),
      mlpSize: 4 * width,
      numClasses: cub.classes.length,
      pooling: v.pooling,
      dropPathRate: v.dropPathRate,
      mlpConvKernel: v.mlpConvKernel ?? 0,
      mean: [0.485, 0.456, 0.406],
      std: [0.229, 0.224, 0.225],
    },
    { seed: 0 },
  );
  const trainLoader = createCachedImageLoader({
    dataset: train,
    cache: trainCache,
    augment: { size, mode: "train", scale: v.scale, mean: model.mean, std: model.std },
    batchSize: 32,
    shuffle: true,
    dropLast: true,
    seed: 0,
  });
  const valLoader = createCachedImageLoader({
    dataset: validation,
    cache: valCache,
    augment: { size, mode: "eval", mean: model.mean, std: model.std },
    batchSize: 64,
  });
  const t0 = performance.now();
  const r = await trainClassifier({
    model,
    train: (epoch) => trainLoader.epoch(epoch),
    val: () => valLoader.epoch(0),
    epochs,
    stepsPerEpoch: trainLoader.length,
    lr: v.lr,
    warmupEpochs: Math.min(5, Math.max(1, Math.round(epochs / 6))),
    patience: epochs,
    mix: v.mix,
    randomErasing: v.randomErasing,
    emaDecay: v.emaDecay,
    progress: false,
    onEpoch: (m) =>
      console.log(
        `${name} epoch ${m.epoch + 1}: train ${(100 * m.trainAccuracy).toFixed(1)}%  val top-1 ${(100 * m.valTop1!).toFixed(1)}%  (${((performance.now() - t0) / 60000).toFixed(1)} min)`,
      ),
  });
  const last = r.history.at(-1)!;
  const best = Math.max(...r.history.map((h) => h.valTop1!));
  const row = {
    variant: name,
    epochs,
    width,
    depth: Number(a.depth),
    size,
    valTop1: last.valTop1,
    valTop5: last.valTop5,
    bestValTop1: best,
    trainAccuracy: last.trainAccuracy,
    minutes: (performance.now() - t0) / 60000,
    curve: r.history.map((h) => Number((100 * h.valTop1!).toFixed(1))),
  };
  console.log(JSON.stringify(row));
  appendFileSync(a.results!, JSON.stringify(row) + "\n");
  model.dispose();
}
await Promise.all([trainCache.close(), valCache.close()]);
