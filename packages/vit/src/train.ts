/**
 * `trainClassifier`: trains a {@link VisionTransformer} with a head from scratch on a small image set, with the
 * recipe small-data ViTs need (AdamW with weight decay 0.05, warmup + cosine, label smoothing, gradient
 * clipping, drop-path from the model's config, early stopping on validation top-1, best checkpoint kept),
 * over core's `Trainer`. Per-image augmentation belongs to the data side (the caller's batches arrive
 * augmented); the batch-level regularizers of small-data ViTs are options here: mixup / cutmix, random
 * erasing, and an exponential moving average of the weights (evaluated and kept as the best model).
 */
import { join } from "node:path";
import { writeFile } from "node:fs/promises";
import { AdamW, Trainer, crossEntropy, sweepStaleTemporaries, tf, warmupCosineSchedule } from "@birdvlm/core";
import type { ImageBatch, MetricsRecord, ProgressStream, Rng, TrainResult, TrainerOptions } from "@birdvlm/core";
import {
  type MixOptions,
  type RandomErasingOptions,
  mixBatch,
  randomErasing,
  softTargetCrossEntropy,
} from "./batch-augment.js";
import { toTimmJson } from "./config-export.js";
import { WeightEma } from "./ema.js";
import type { VisionTransformer } from "./vision-transformer.js";

/** One batch: normalized images `[B, H, W, C]` and int32 class indices `[B]`. */
export interface ClassifierBatch {
  images: ImageBatch;
  labels: tf.Tensor1D;
}

/** Batches as an (async) iterable. */
export type ClassifierBatches = AsyncIterable<ClassifierBatch> | Iterable<ClassifierBatch>;

/** Options of {@link trainClassifier}. */
export interface TrainClassifierOptions {
  /** A model with `numClasses > 0`; set `dropPathRate` (e.g. 0.1) in its config. */
  model: VisionTransformer;
  /**
   * The (augmented) training batches of one epoch. Same `epoch` and `rng` must give the same batches (shuffle
   * with `rng`) for an exact resume. The trainer disposes each batch after its step.
   */
  train: (epoch: number, rng: Rng) => ClassifierBatches;
  /** Validation batches (not augmented), evaluated after every epoch; disposed after use. */
  val?: () => ClassifierBatches;
  /** Passes over the training data. */
  epochs: number;
  /** Optimizer steps in one epoch (batches per epoch), for the schedule. */
  stepsPerEpoch: number;
  /** Peak learning rate. Default 1e-3. */
  lr?: number;
  /** Floor of the cosine. Default 1e-5. */
  minLr?: number;
  /** Epochs of linear warmup. Default 5 (at most a third of `epochs`). */
  warmupEpochs?: number;
  /** AdamW weight decay (not on norms, biases, position embeddings, class token). Default 0.05. */
  weightDecay?: number;
  /** Default 0.1. */
  labelSmoothing?: number;
  /** Global gradient-norm clip. Default 1. */
  clipGradNorm?: number;
  /**
   * When non-finite losses are caught (`Trainer`'s option): `"step"` (default) reads one float per step;
   * `"device"` skips a bad step on the device with no read inside a step (the choice on a GPU).
   */
  finiteCheck?: TrainerOptions<unknown>["finiteCheck"];
  /** Epochs without a better validation top-1 before stopping. Default 10. */
  patience?: number;
  /**
   * Folder of the run: `checkpoints/checkpoint-<step>` (each a timm-layout folder `VisionTransformer.load`
   * reads, plus optimizer and trainer state), `checkpoints/best`, `metrics.jsonl`, `curves.png`. Default: none.
   */
  outDir?: string;
  /** Continue from the latest checkpoint in `outDir`. Default `false`. */
  resume?: boolean;
  /** Seed of the data order and the dropout / drop-path masks. Default 0. */
  seed?: number;
  /** Progress line on stderr (or the stream given; redrawn in place with the time left on a TTY). Default `true`. */
  progress?: boolean | ProgressStream;
  /** Called after each epoch's evaluation. */
  onEpoch?: (metrics: EpochMetrics) => void;
  /** Called with each Trainer log record (loss every `logEvery` steps). */
  onRecord?: (record: MetricsRecord) => void;
  /** Log the training loss every this many steps. Default 10. */
  logEvery?: number;
  /** Stop after this many optimizer steps (e.g. to cut a run short). */
  maxSteps?: number;
  /** Mixup / cutmix of each training batch (soft targets, label-smoothed). Default: none. */
  mix?: MixOptions;
  /** Random erasing of training images (after mixing). Default: none. */
  randomErasing?: RandomErasingOptions;
  /**
   * Decay of an exponential moving average of the weights (e.g. 0.999): validation scores the average, and
   * the best model (`bestDir`, `<outDir>/best-ema`) holds it. A resumed run restarts the average. Default: none.
   */
  emaDecay?: number;
}

/** What one epoch reached. */
export interface EpochMetrics {
  epoch: number;
  step: number;
  /** Top-1 accuracy on the (augmented) training batches of the epoch, in training mode. */
  trainAccuracy: number;
  /** Present when `val` is given. */
  valLoss?: number;
  valTop1?: number;
  valTop5?: number;
}

/** What {@link trainClassifier} returns. */
export interface TrainClassifierResult extends TrainResult {
  /** One entry per evaluated epoch. */
  history: EpochMetrics[];
  /** The folder of the best model (timm layout), when `outDir` and `val` are set. */
  bestDir?: string;
}

/** Device-side sums of an evaluation: loss, top-1 hits, top-5 hits; read once at the end. */
export interface ClassifierEvaluation {
  loss: number;
  top1: number;
  top5: number;
  count: number;
}

/**
 * Evaluates `model` (in eval mode) over `batches`: mean cross-entropy, top-1 and top-5 accuracy. The batches'
 * tensors are disposed. Reads the device once, at the end.
 */
export async function evaluateClassifier(
  model: VisionTransformer,
  batches: ClassifierBatches,
): Promise<ClassifierEvaluation> {
  let sums = tf.zeros([3]);
  let count = 0;
  for await (const b of batches) {
    const next = tf.tidy(() => {
      const logits = model.forward(b.images, { training: false, headOnly: true }).logits!;
      const k = Math.min(5, logits.shape[1]);
      const labels = b.labels;
      const loss = crossEntropy(logits, labels, { reduction: "sum" });
      const top = tf.topk(logits, k).indices;
      const hitsK = tf.sum(tf.cast(tf.any(tf.equal(top, tf.expandDims(labels, 1)), 1), "float32"));
      const hits1 = tf.sum(tf.cast(tf.equal(tf.argMax(logits, 1), labels), "float32"));
      return tf.add(sums, tf.stack([loss, hits1, hitsK]));
    });
    sums.dispose();
    sums = next;
    count += b.labels.shape[0];
    tf.dispose([b.images, b.labels]);
  }
  const [loss, top1, top5] = Array.from(await sums.data());
  sums.dispose();
  if (count === 0) throw new Error("evaluateClassifier: no batches");
  return { loss: loss! / count, top1: top1! / count, top5: top5! / count, count };
}

/**
 * Trains `model` (a classifier) and returns the per-epoch metrics. Resumable (`resume: true` with the same
 * `outDir`): a run stopped and resumed ends with the same weights as one that never stopped.
 */
export async function trainClassifier(options: TrainClassifierOptions): Promise<TrainClassifierResult> {
  const o = options;
  const model = o.model;
  if (!model.head) throw new Error("trainClassifier: the model has no head (numClasses 0)");
  for (const [k, v] of Object.entries({ epochs: o.epochs, stepsPerEpoch: o.stepsPerEpoch })) {
    if (!Number.isInteger(v) || v <= 0) throw new Error(`trainClassifier: ${k} must be a positive integer, got ${v}`);
  }
  const lr = o.lr ?? 1e-3;
  const totalSteps = o.epochs * o.stepsPerEpoch;
  const warmupSteps = Math.min(Math.round((o.warmupEpochs ?? 5) * o.stepsPerEpoch), Math.floor(totalSteps / 3));
  const labelSmoothing = o.labelSmoothing ?? 0.1;
  const checkpointDir = o.outDir ? join(o.outDir, "checkpoints") : undefined;
  if (o.outDir) await sweepStaleTemporaries(o.outDir); // a killed run's .best-ema.old-* (the Trainer sweeps checkpoints/)
  const history: EpochMetrics[] = [];
  // Training top-1 of the current epoch, summed on the device inside the loss.
  const zero = tf.scalar(0);
  const trainHits = tf.variable(zero, false);
  zero.dispose();
  let trainSeen = 0;

  const numClasses = model.config.numClasses;
  const params = model.trainableParameters();
  const ema =
    o.emaDecay !== undefined
      ? new WeightEma(
          params.map(([, v]) => v),
          o.emaDecay,
        )
      : undefined;
  const emaDir = ema && o.outDir && o.val ? join(o.outDir, "best-ema") : undefined;
  let emaBest = -Infinity;

  const trainer = new Trainer<ClassifierBatch>({
    model,
    loss: (b, ctx) => {
      let images = b.images;
      let targets: tf.Tensor2D | undefined;
      if (o.mix) ({ images, targets } = mixBatch(images, b.labels, numClasses, labelSmoothing, o.mix, ctx.rng));
      if (o.randomErasing) images = randomErasing(images, o.randomErasing, ctx.rng);
      const logits = model.forward(images, { training: true, rng: ctx.rng, headOnly: true }).logits!;
      trainHits.assign(tf.add(trainHits, tf.sum(tf.cast(tf.equal(tf.argMax(logits, 1), b.labels), "float32"))));
      trainSeen += b.labels.shape[0];
      if (targets) return softTargetCrossEntropy(logits, targets);
      return crossEntropy(logits, b.labels, { labelSmoothing }) as tf.Scalar;
    },
    onStep: (info) => {
      if (ema && !info.skipped) ema.update();
    },
    data: o.train,
    optimizer: (params) => new AdamW(params, { lr, weightDecay: o.weightDecay ?? 0.05 }),
    schedule: warmupCosineSchedule({ baseLr: lr, warmupSteps, totalSteps, minLr: o.minLr ?? 1e-5 }),
    epochs: o.epochs,
    maxSteps: o.maxSteps,
    clipGradNorm: o.clipGradNorm ?? 1,
    finiteCheck: o.finiteCheck,
    seed: o.seed ?? 0,
    disposeBatch: (b) => tf.dispose([b.images, b.labels]),
    itemsInBatch: (b) => b.labels.shape[0],
    itemName: "img",
    evaluate: async (ctx) => {
      const trainAccuracy = trainSeen ? (await trainHits.data())[0]! / trainSeen : 0;
      tf.tidy(() => trainHits.assign(tf.zerosLike(trainHits)));
      trainSeen = 0;
      const m: EpochMetrics = { epoch: ctx.epoch, step: ctx.step, trainAccuracy };
      if (o.val) {
        const val = o.val;
        const v = ema
          ? await ema.withAverage(() => evaluateClassifier(model, val()))
          : await evaluateClassifier(model, val());
        Object.assign(m, { valLoss: v.loss, valTop1: v.top1, valTop5: v.top5 });
        if (ema && emaDir && v.top1 > emaBest) {
          emaBest = v.top1;
          await ema.withAverage(() => model.save(emaDir));
        }
      }
      history.push(m);
      o.onEpoch?.(m);
      const out: Record<string, number> = { train_accuracy: m.trainAccuracy };
      if (m.valTop1 !== undefined)
        Object.assign(out, { val_loss: m.valLoss, val_top1: m.valTop1, val_top5: m.valTop5 });
      return out;
    },
    evalEvery: o.stepsPerEpoch,
    earlyStopping: o.val ? { metric: "val_top1", mode: "max", patience: o.patience ?? 10 } : undefined,
    checkpointDir,
    checkpointEvery: checkpointDir ? o.stepsPerEpoch : undefined,
    writeExtra: async (tmp) => {
      await writeFile(join(tmp, "config.json"), `${JSON.stringify(toTimmJson(model.config), null, 2)}\n`);
    },
    extraState: { vitConfig: model.config },
    resume: o.resume ?? false,
    logEvery: o.logEvery ?? 10,
    metricsFile: o.outDir ? join(o.outDir, "metrics.jsonl") : undefined,
    curvesFile: o.outDir ? join(o.outDir, "curves.png") : undefined,
    progress: o.progress ?? true,
    onRecord: o.onRecord,
  });
  try {
    const result = await trainer.fit();
    const bestDir = emaDir ?? (checkpointDir && o.val ? join(checkpointDir, "best") : undefined);
    return { ...result, history, bestDir };
  } finally {
    trainer.dispose();
    trainHits.dispose();
    ema?.dispose();
  }
}
