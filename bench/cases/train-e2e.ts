// End-to-end training on real photos, in training images per second, the setup of the PyTorch anchor
// `shared/anchors/cub_train_torch.py` over ../shared/data/cub-subset-train (2,999 photos, 100 species):
// random-resized-crop scale (0.35, 1), flip, colour jitter 0.4, ImageNet normalization, batch 32, a ViT with a
// class-token head, AdamW (lr 1e-3, weight decay 0.05), label smoothing 0.1, gradient clipping at 1.
// - `train-e2e-64`: 64 px, patch 8, 6 blocks, width 192, 3 heads (the anchor's default);
// - `train-e2e-224`: 224 px, ViT-Tiny (patch 16, 12 blocks), as `--size 224 --patch 16 --depth 12`;
// - `train-step-64`: the 64 px model step alone on a fixed batch (what the input pipeline costs is the gap).
// Our input side is the decoded-pixel cache (decoded once, in setup, at 1.15x the train size; the build time
// is printed on stderr) and the uint8 augmentation; every timed run continues through the epochs.
// Compare in one window: `python3 cub_train_torch.py <root> --workers 2 --threads 1` (with
// `OPENBLAS_CORETYPE=SkylakeX` on an AVX-512 Xeon). Its OpenBLAS ignores `--threads 1`: its products use every core.
import { tmpdir } from "node:os";
import { join } from "node:path";
import { AdamW, clipByGlobalNorm, crossEntropy, disposeTensors, tf, type NamedTensors } from "@birdvlm/core";
import { CubDataset, PixelCache, createCachedImageLoader, type ImageLoaderBatch } from "@birdvlm/data";
import { VisionTransformer } from "@birdvlm/vit";
import { sharedPath } from "../../testing/shared.js";
import { defineCase, type BenchCase } from "../harness.js";

const BATCH = 32;

/** The ViT's image size, patch size and depth. */
export interface Shape {
  size: number;
  patch: number;
  depth: number;
}

/** The anchor's ViT for `shape` (class-token head, `classes` outputs), in training mode. */
export function model(shape: Shape, classes: number): VisionTransformer {
  return new VisionTransformer(
    {
      imageSize: shape.size,
      patchSize: shape.patch,
      hiddenSize: 192,
      depth: shape.depth,
      numHeads: 3,
      mlpSize: 768,
      numClasses: classes,
      pooling: "cls",
      mean: [0.485, 0.456, 0.406],
      std: [0.229, 0.224, 0.225],
    },
    { seed: 0 },
  ).train();
}

/** One training step as the Trainer takes it: loss, gradients, clip, AdamW, one float read back. */
export function stepper(vit: VisionTransformer): { step(images: tf.Tensor4D, labels: tf.Tensor1D): Promise<number> } & {
  dispose(): void;
} {
  const params = vit.trainableParameters();
  const nameOf = new Map(params.map(([n, v]) => [v.name, n]));
  const optimizer = new AdamW(params, { lr: 1e-3, weightDecay: 0.05 });
  return {
    async step(images, labels) {
      const { value, grads } = tf.variableGrads(
        () =>
          crossEntropy(vit.forward(images, { training: true, headOnly: true }).logits!, labels, {
            labelSmoothing: 0.1,
          }) as tf.Scalar,
        params.map(([, v]) => v),
      );
      const named: NamedTensors = {};
      for (const [k, g] of Object.entries(grads)) named[nameOf.get(k)!] = g;
      const clipped = clipByGlobalNorm(named, 1);
      disposeTensors(named);
      optimizer.step(clipped.grads, 1e-3);
      disposeTensors(clipped.grads);
      const check = tf.add(value, clipped.norm);
      const v = (await check.data())[0]!;
      tf.dispose([check, value, clipped.norm]);
      return v;
    },
    dispose() {
      optimizer.dispose();
    },
  };
}

function e2eCase(name: string, shape: Shape, stepsPerRun: number): BenchCase {
  return defineCase({
    name,
    unit: "img/s",
    warmup: 1,
    runs: 5,
    async setup() {
      const root = sharedPath("data/cub-subset-train");
      if (!root) throw new Error(`bench ${name}: ../shared/data/cub-subset-train is missing`);
      const train = (await CubDataset.open(root)).split("train");
      const t0 = performance.now();
      const cache = await PixelCache.openOrBuild(
        Array.from({ length: train.size }, (_, i) => ({ path: train.get(i).path })),
        join(tmpdir(), `birdvlm-bench-cub-${Math.round(shape.size * 1.15)}.pix`),
        { shorterSide: Math.round(shape.size * 1.15) },
      );
      process.stderr.write(
        `bench ${name}: pixel cache of ${cache.size} images ready in ${((performance.now() - t0) / 1000).toFixed(1)} s\n`,
      );
      const loader = createCachedImageLoader({
        dataset: train,
        cache,
        augment: { size: shape.size, mode: "train", scale: [0.35, 1] },
        batchSize: BATCH,
        shuffle: true,
        dropLast: true,
        seed: 0,
      });
      const vit = model(shape, train.classes.length);
      const s = stepper(vit);
      let it: AsyncIterator<ImageLoaderBatch<unknown>> = loader[Symbol.asyncIterator]();
      const nextBatch = async (): Promise<ImageLoaderBatch<unknown>> => {
        for (;;) {
          const r = await it.next();
          if (!r.done) return r.value;
          it = loader[Symbol.asyncIterator]();
        }
      };
      return {
        async step() {
          for (let i = 0; i < stepsPerRun; i++) {
            const b = await nextBatch();
            await s.step(b.images, b.labels);
            tf.dispose([b.images, b.labels]);
          }
          return stepsPerRun * BATCH;
        },
        async dispose() {
          await it.return?.();
          s.dispose();
          vit.dispose();
          await cache.close();
        },
      };
    },
  });
}

const modelOnly = defineCase({
  name: "train-step-64",
  unit: "img/s",
  warmup: 1,
  runs: 5,
  async setup() {
    const vit = model({ size: 64, patch: 8, depth: 6 }, 100);
    const s = stepper(vit);
    const images = tf.randomNormal([BATCH, 64, 64, 3], 0, 1, "float32", 1) as tf.Tensor4D;
    const labels = tf.tensor1d(
      Array.from({ length: BATCH }, (_, i) => i % 100),
      "int32",
    );
    return {
      async step() {
        for (let i = 0; i < 8; i++) await s.step(images, labels);
        return 8 * BATCH;
      },
      dispose() {
        tf.dispose([images, labels]);
        s.dispose();
        vit.dispose();
      },
    };
  },
});

export default [
  e2eCase("train-e2e-64", { size: 64, patch: 8, depth: 6 }, 8),
  e2eCase("train-e2e-224", { size: 224, patch: 16, depth: 12 }, 2),
  modelOnly,
];
