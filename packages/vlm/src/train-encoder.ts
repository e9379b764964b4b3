import { AdamW, Rng, clipByGlobalNorm, crossEntropy, tf, warmupCosineSchedule } from "@birdvlm/core";
import type { VisionTransformer } from "@birdvlm/vit";
import type { ImageTable } from "./image-table.js";

/** Options of `trainEncoderClassifier`. */
export interface EncoderTrainingOptions {
  images: ImageTable;
  /** Training image ids and their class indices. */
  ids: string[];
  labels: number[];
  epochs?: number;
  batchSize?: number;
  lr?: number;
  weightDecay?: number;
  labelSmoothing?: number;
  seed?: number;
  log?: (line: string) => void;
}

/**
 * Trains a ViT with a classifier head on in-memory images (AdamW, warmup + cosine, label smoothing, clipping,
 * random horizontal flips): the demo's first stage, which makes the encoder's features know the species.
 * Returns the loss of every step.
 */
export async function trainEncoderClassifier(vit: VisionTransformer, o: EncoderTrainingOptions): Promise<number[]> {
  if (!vit.config.numClasses) throw new Error("trainEncoderClassifier: the ViT has no classifier head (numClasses 0)");
  const log = o.log ?? (() => undefined);
  const bs = Math.min(o.batchSize ?? 32, o.ids.length);
  const steps = Math.ceil(o.ids.length / bs) * (o.epochs ?? 10);
  const lr = o.lr ?? 2e-3;
  const schedule = warmupCosineSchedule({ baseLr: lr, warmupSteps: Math.min(Math.floor(steps * 0.05), steps - 1), totalSteps: steps, minLr: lr * 0.02 });
  const named = vit.trainableParameters();
  const optimizer = new AdamW(named, { lr, weightDecay: o.weightDecay ?? 0.05 });
  const byVar = new Map(named.map(([n, v]) => [v.name, n]));
  const rng = new Rng(o.seed ?? 0);
  vit.train(true);
  const losses: number[] = [];
  const started = Date.now();
  let order: number[] = [];
  let last = 0;
  try {
    for (let step = 0; step < steps; step++) {
      if (order.length < bs) order = order.concat(rng.permutation(o.ids.length));
      const pick = order.splice(0, bs);
      const flip = rng.float() < 0.5;
      const images = o.images.gather(pick.map((i) => o.ids[i]!));
      const lossT = tf.tidy(() => {
        const x = flip ? (tf.reverse(images, 2) as tf.Tensor4D) : images;
        const y = tf.tensor1d(pick.map((i) => o.labels[i]!), "int32");
        const { value, grads } = tf.variableGrads(() => crossEntropy(vit.classify(x, { training: true }), y, { labelSmoothing: o.labelSmoothing ?? 0.1 }) as tf.Scalar, named.map(([, v]) => v));
        const g: Record<string, tf.Tensor> = {};
        for (const [k, t] of Object.entries(grads)) g[byVar.get(k)!] = t;
        optimizer.step(clipByGlobalNorm(g, 1).grads, schedule(step));
        return value;
      });
      images.dispose();
      const loss = (await lossT.data())[0]!;
      lossT.dispose();
      if (!Number.isFinite(loss)) throw new Error(`trainEncoderClassifier: the loss is ${loss} at step ${step + 1}: lower the learning rate (now ${lr})`);
      losses.push(loss);
      if (Date.now() - last > 2000 || step === steps - 1) {
        last = Date.now();
        const s = (Date.now() - started) / 1000;
        log(`train-vit: step ${step + 1}/${steps}  epoch ${Math.floor((step * bs) / o.ids.length) + 1}  loss ${loss.toFixed(4)}  ${(((step + 1) * bs) / s).toFixed(1)} img/s`);
      }
    }
  } finally {
    vit.eval();
    optimizer.dispose();
  }
  return losses;
}

/** Top-1 accuracy of the ViT's head on `ids` (class indices `labels`). */
export async function classifierAccuracy(vit: VisionTransformer, images: ImageTable, ids: string[], labels: number[], batchSize = 64): Promise<number> {
  let right = 0;
  for (let s = 0; s < ids.length; s += batchSize) {
    const batch = images.gather(ids.slice(s, s + batchSize));
    const pred = tf.tidy(() => tf.argMax(vit.classify(batch), 1));
    const p = await pred.data();
    pred.dispose();
    batch.dispose();
    p.forEach((c, i) => { if (c === labels[s + i]) right++; });
  }
  return ids.length ? right / ids.length : 0;
}
