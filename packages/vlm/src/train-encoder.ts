import { tf, type Rng } from "@birdvlm/core";
import { trainClassifier, type ClassifierBatch, type VisionTransformer } from "@birdvlm/vit";
import type { ImageTable } from "./image-table.js";
import type { Recipe } from "./recipe.js";

/** Options of `trainEncoderClassifier`. */
export interface EncoderTrainingOptions {
  images: ImageTable;
  /** Training image ids and their class indices. */
  ids: string[];
  labels: number[];
  epochs?: number;
  batchSize?: number;
  lr?: number;
  seed?: number;
  /** Probability of flipping a training image horizontally. Default 0.5. */
  flipProbability?: number;
  /** Progress lines. */
  log?: (line: string) => void;
  /** Receives the loss of every step. */
  onLoss?: (loss: number) => void;
}

/**
 * Trains a ViT with a classifier head on in-memory images with `@birdvlm/vit`'s `trainClassifier` (AdamW,
 * warmup + cosine, label smoothing, clipping), augmenting with random horizontal flips: the stage that makes the
 * encoder's features know the species. Returns the loss of every step.
 */
export async function trainEncoderClassifier(vit: VisionTransformer, o: EncoderTrainingOptions): Promise<number[]> {
  if (!vit.config.numClasses) throw new Error("trainEncoderClassifier: the ViT has no classifier head (numClasses 0)");
  const log = o.log ?? (() => undefined);
  const bs = Math.min(o.batchSize ?? 32, o.ids.length);
  const epochs = o.epochs ?? 10;
  const stepsPerEpoch = Math.ceil(o.ids.length / bs);
  const flip = o.flipProbability ?? 0.5;
  const losses: number[] = [];
  const started = Date.now();
  let last = 0;
  function* train(_epoch: number, rng: Rng): Iterable<ClassifierBatch> {
    const order = rng.permutation(o.ids.length);
    for (let s = 0; s < order.length; s += bs) {
      const pick = order.slice(s, s + bs);
      const raw = o.images.gather(pick.map((i) => o.ids[i]!));
      const images = rng.float() < flip ? tf.tidy(() => tf.reverse(raw, 2) as tf.Tensor4D) : raw;
      if (images !== raw) raw.dispose();
      yield {
        images,
        labels: tf.tensor1d(
          pick.map((i) => o.labels[i]!),
          "int32",
        ),
      };
    }
  }
  await trainClassifier({
    model: vit,
    train,
    epochs,
    stepsPerEpoch,
    lr: o.lr ?? 2e-3,
    warmupEpochs: Math.min(2, Math.floor(epochs / 3)),
    seed: o.seed ?? 0,
    progress: false,
    logEvery: 1,
    onRecord: (r) => {
      if (r.kind !== "train" || typeof r.loss !== "number") return;
      losses.push(r.loss);
      o.onLoss?.(r.loss);
      if (Date.now() - last > 2000 || r.step === epochs * stepsPerEpoch) {
        last = Date.now();
        log(
          `train-vit: step ${r.step}/${epochs * stepsPerEpoch}  epoch ${r.epoch + 1}/${epochs}  loss ${r.loss.toFixed(4)}  ${((r.step * bs) / ((Date.now() - started) / 1000)).toFixed(1)} img/s`,
        );
      }
    },
  });
  vit.eval();
  return losses;
}

/**
 * The knobs of `trainEncoderClassifier` a recipe sets (epochs, batch size, learning rate, flips).
 * @throws when the recipe asks for an augmentation that training on in-memory images doesn't do (random-resized-crop,
 *   colour jitter: those need `@birdvlm/data`'s `ImagePipeline`, as `examples/train-vit-cub.ts` uses).
 */
export function encoderTrainingOf(
  recipe: Recipe,
): Required<Pick<EncoderTrainingOptions, "epochs" | "batchSize" | "lr" | "flipProbability">> {
  const { augmentation: a, epochs, batchSize, lr } = recipe.training;
  if (a.scale || a.colorJitter)
    throw new Error(
      `${recipe.path}: training.augmentation asks for ${a.scale ? "a random-resized-crop (scale)" : "colour jitter"}, which training on decoded in-memory images doesn't do (it flips only); use a recipe without it`,
    );
  return { epochs, batchSize, lr, flipProbability: a.flipProbability };
}

/**
 * Whether a recipe trains its encoder with more than flips (random-resized-crop, colour jitter, mixup / cutmix,
 * random erasing, an EMA of the weights): then it needs the pixel-cache pipeline of `trainVitOnCub`
 * (`birdvlm train-vit`), not `trainEncoderClassifier` on in-memory images.
 */
export function needsImagePipeline(recipe: Recipe): boolean {
  const { augmentation: a, emaDecay } = recipe.training;
  return !!(a.scale || a.colorJitter || a.mixupAlpha || a.cutmixAlpha || a.randomErasing || emaDecay);
}

/**
 * Top-1 accuracy of the ViT's head on `ids` (class indices `labels`). With `groupOf` (class index → group), a
 * prediction is right when it falls in the label's group (e.g. NABirds' categories scored at the species level).
 */
export async function classifierAccuracy(
  vit: VisionTransformer,
  images: ImageTable,
  ids: string[],
  labels: number[],
  batchSize = 64,
  groupOf?: readonly number[],
): Promise<number> {
  let right = 0;
  for (let s = 0; s < ids.length; s += batchSize) {
    const batch = images.gather(ids.slice(s, s + batchSize));
    const pred = tf.tidy(() => tf.argMax(vit.classify(batch), 1));
    const p = await pred.data();
    pred.dispose();
    batch.dispose();
    p.forEach((c, i) => {
      if (groupOf ? groupOf[c] === groupOf[labels[s + i]!] : c === labels[s + i]) right++;
    });
  }
  return ids.length ? right / ids.length : 0;
}
