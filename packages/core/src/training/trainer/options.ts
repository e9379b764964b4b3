import type { tf } from "../../tf.js";
import type { ParameterHolder } from "../../model/contracts.js";
import type { NamedTensors, Optimizer } from "../optimizers/optimizer.js";
import type { Schedule } from "../schedule.js";
import type { Rng } from "../../random/rng.js";
import type { MetricsRecord } from "../metrics-log.js";
import type { ProgressStream } from "../progress.js";
import type { CurvesOptions } from "../curves.js";

/**
 * What the {@link Trainer} trains: a `Module` (anything with named parameters). When it also has
 * `stateDict`/`loadStateDict` (every `Module` does), checkpoints hold its state dict under the reference
 * names; `train(mode)` is called to switch dropout on for training and off for evaluation.
 */
export interface TrainableModel extends ParameterHolder {
  /** Parameters as new tensors by reference name (saved in `model.safetensors`). */
  stateDict?(): NamedTensors;
  /** Restores parameters from `stateDict()` tensors (on resume). */
  loadStateDict?(tensors: NamedTensors, options?: { strict?: boolean; source?: string }): void;
  /** Training (`true`) or evaluation (`false`) mode. */
  train?(mode?: boolean): unknown;
}

/** Handed to the loss closure for each micro-batch. */
export interface StepContext {
  /** 0-based index of the optimizer step being computed (= steps done before it). */
  step: number;
  /** Epoch (0-based) the batch comes from. */
  epoch: number;
  /** 0-based index of the micro-batch within the step (`< gradientAccumulation`). */
  microStep: number;
  /**
   * The trainer's step RNG, saved in checkpoints: draw every random number of the loss from it (dropout:
   * `tf.dropout(x, rate, undefined, ctx.rng.seed())`), never from unseeded `tf.random*`, so a resumed run
   * is bit-identical to an uninterrupted one.
   */
  rng: Rng;
}

/** Handed to the evaluation callback. */
export interface EvalContext {
  /** Optimizer steps done. */
  step: number;
  /** Epoch in progress (0-based). */
  epoch: number;
  /** A fresh RNG for this evaluation (seeded from the run seed and the step; it does not disturb training). */
  rng: Rng;
}

/** Early stopping on an evaluation metric. */
export interface EarlyStoppingOptions {
  /** Name of a metric the `evaluate` callback returns. */
  metric: string;
  /** `max` when larger is better (accuracy), `min` when smaller is (loss). */
  mode: "min" | "max";
  /** Evaluations without an improvement (by more than `minDelta`) after which training stops. */
  patience: number;
  /** Smallest change that counts as an improvement. Default 0. */
  minDelta?: number;
}

/**
 * Configuration of a {@link Trainer}. Only `model`, `loss`, `data` and `optimizer` are required, plus a
 * stopping rule (`maxSteps` and/or `epochs`).
 *
 * @typeParam B - the batch type the data yields and the loss consumes (e.g. `{ images: tf.Tensor4D; labels: tf.Tensor1D }`).
 */
export interface TrainerOptions<B> {
  /** The module trained and checkpointed (e.g. the classifier; in a VLM stage, the parts that learn). */
  model: TrainableModel;
  /** The parameters to train. Default `model.trainableParameters()` at construction. */
  parameters?: Array<[string, tf.Variable]>;
  /**
   * The loss of one (micro-)batch, a scalar (mean over the batch). Called inside `tf.variableGrads`, so every
   * operation from parameters to loss must happen in it. Tensors it creates are freed by the trainer.
   */
  loss: (batch: B, ctx: StepContext) => tf.Scalar;
  /**
   * The batches of one epoch, in order, as a (async) iterable. Called at the start of each epoch with the
   * epoch index and an RNG derived from the seed and the epoch alone (shuffle with it: `rng.permutation(n)`),
   * so the same epoch always yields the same batches. On resume the trainer calls it for the saved epoch and
   * discards the batches already consumed (they are produced again, so the RNG draws replay exactly).
   */
  data: (epoch: number, rng: Rng) => AsyncIterable<B> | Iterable<B>;
  /** An optimizer over the trained parameters' names, or a factory that builds one from them. */
  optimizer: Optimizer | ((parameters: Array<[string, tf.Variable]>) => Optimizer);
  /** Learning rate for each 0-based step. Default: the optimizer's `lr` at every step. */
  schedule?: Schedule;
  /** Stop after this many optimizer steps. */
  maxSteps?: number;
  /** Stop after this many passes over the data. */
  epochs?: number;
  /** Micro-batches per optimizer step (their gradients are averaged). Default 1. */
  gradientAccumulation?: number;
  /** Clip the gradients' global L2 norm to this (PyTorch `clip_grad_norm_`). Default: no clipping. */
  clipGradNorm?: number;
  /** Seed of the step RNG and of every epoch's data RNG. Default 0. */
  seed?: number;
  /** Items (examples) in a batch, for items/s. Default: the first axis of the batch's first tensor, else 1. */
  itemsInBatch?: (batch: B) => number;
  /** What an item is, for the rate in the progress line (`img` shows `85.2 img/s`). Default `it`. */
  itemName?: string;
  /**
   * Frees a batch after its step: `true` disposes every tensor found in it (the batch itself, or the values of
   * an array or object batch), a function does it your way. Default `false` (the batches are yours).
   */
  disposeBatch?: boolean | ((batch: B) => void);
  /** Evaluation callback: metrics by name (e.g. `{ accuracy: 0.71, loss: 1.2 }`). Run in eval mode. */
  evaluate?: (ctx: EvalContext) => Promise<Record<string, number>> | Record<string, number>;
  /** Evaluate every this many steps (and at the end, see `evalAtEnd`). Default: only at the end. */
  evalEvery?: number;
  /** Also evaluate when training ends, unless it just did. Default `true`. */
  evalAtEnd?: boolean;
  /** Stop when an evaluation metric stops improving. Needs `evaluate` and `evalEvery`. */
  earlyStopping?: EarlyStoppingOptions;
  /** Folder of the `checkpoint-<step>` folders (and `best`). Default: no checkpoints. */
  checkpointDir?: string;
  /** Write a checkpoint every this many steps (and at the end). Default: only at the end. */
  checkpointEvery?: number;
  /**
   * What `model.safetensors` holds. `model` (default): `model.stateDict()`, every parameter under its
   * reference name and layout, a loadable model. `trained`: only the trained parameters as the variables
   * hold them (BirdVLM layout, e.g. linear weights `[in,out]`), for resuming only; use it when the model
   * is large and mostly frozen (a VLM stage that trains the projector), and export with the model's `save()`.
   */
  checkpointParameters?: "model" | "trained";
  /** Checkpoints kept (older ones are deleted). Default 2. */
  keepCheckpoints?: number;
  /** With early stopping, also keep the model of the best evaluation in `<checkpointDir>/best`. Default `true`. */
  saveBest?: boolean;
  /** Writes extra files (e.g. `config.json`) into each checkpoint folder before it is renamed into place. */
  writeExtra?: (tmpDir: string, step: number) => Promise<void>;
  /** Saved in `trainer.json` under `extra` (data provenance, configs). */
  extraState?: Record<string, unknown>;
  /**
   * Resume: `true` continues from the latest checkpoint in `checkpointDir` when there is one (else starts
   * fresh); a path continues from that checkpoint folder. Default `false`.
   */
  resume?: boolean | string;
  /** Read the loss and write a log record every this many steps. Default 10. */
  logEvery?: number;
  /** JSON Lines file the log and evaluation records are appended to. */
  metricsFile?: string;
  /** PNG of the loss and metric curves, redrawn at each evaluation, checkpoint and at the end. */
  curvesFile?: string;
  /** Options of the curves image. */
  curves?: CurvesOptions;
  /** Progress output: `true` (default) to stderr, `false` for none, or a stream. */
  progress?: boolean | ProgressStream;
  /** Abort after this many non-finite steps in a row. Default 10. */
  maxBadSteps?: number;
  /**
   * When the loss and gradient norm are checked for non-finite values. `"step"` (default): every step, which
   * reads one float from the device before the update (the step is then skipped). `"log"`: only with the
   * loss read every `logEvery` steps, so that nothing is read back inside a step (on a GPU the host never
   * waits for the device between steps); a non-finite interval then aborts the run with an error, its
   * updates already applied. `"device"`: nothing read inside a step either, and a non-finite step is still
   * skipped, on the device (the optimizer's `applyIf`: parameters and moments keep their values; its step
   * count, hence AdamW's bias correction, still advances); the skipped steps are counted at each log interval,
   * where `maxBadSteps` is checked against whole intervals of bad steps. The choice for a GPU.
   */
  finiteCheck?: "step" | "log" | "device";
  /** Stops training at the next step boundary (a checkpoint is written first when `checkpointDir` is set). */
  signal?: AbortSignal;
  /** Switch `model.train(true)` on for training and `train(false)` for evaluation. Default `true`. */
  setTrainMode?: boolean;
  /** Called with each log and evaluation record. */
  onRecord?: (record: MetricsRecord) => void;
  /** Called after every step (cheap; for tests and custom hooks). */
  onStep?: (info: StepInfo) => void;
}

/** What `onStep` receives. */
export interface StepInfo {
  /** Optimizer steps done (1-based count). */
  step: number;
  /** Epoch of the step's batches (0-based). */
  epoch: number;
  /** Learning rate the step used. */
  lr: number;
  /** Whether the step was skipped because its loss or gradients were not finite. */
  skipped: boolean;
}

/** Why `fit` returned. */
export type StopReason = "maxSteps" | "epochs" | "earlyStopping" | "aborted";

/** What `Trainer.fit` returns. */
export interface TrainResult {
  /** Optimizer steps done (attempted, including skipped ones). */
  step: number;
  /** Epoch in progress when training stopped. */
  epoch: number;
  /** Why training stopped. */
  stopReason: StopReason;
  /** Steps skipped because their loss or gradients were not finite. */
  skippedSteps: number;
  /** Mean training loss of the last log interval. */
  lastLoss?: number;
  /** Metrics of the last evaluation. */
  lastEval?: Record<string, number>;
  /** Best value of the early-stopping metric and its step. */
  best?: {
    /** The early-stopping metric. */
    metric: string;
    /** Its best value. */
    value: number;
    /** The step of that evaluation. */
    step: number;
  };
  /** The last checkpoint folder written. */
  checkpoint?: string;
  /** Seconds spent training (across resumes). */
  elapsedSec: number;
}

/** Throws on options that contradict each other or are out of range (the {@link Trainer} constructor's checks). */
export function checkTrainerOptions<B>(o: TrainerOptions<B>): void {
  if (o.maxSteps === undefined && o.epochs === undefined) throw new Error("Trainer: set maxSteps and/or epochs");
  for (const [k, v] of Object.entries({
    maxSteps: o.maxSteps,
    epochs: o.epochs,
    gradientAccumulation: o.gradientAccumulation,
    logEvery: o.logEvery,
    evalEvery: o.evalEvery,
    checkpointEvery: o.checkpointEvery,
    keepCheckpoints: o.keepCheckpoints,
    maxBadSteps: o.maxBadSteps,
  })) {
    if (v !== undefined && !(Number.isInteger(v) && v > 0))
      throw new Error(`Trainer: ${k} must be a positive integer, got ${v}`);
  }
  if (o.earlyStopping && !o.evaluate) throw new Error("Trainer: earlyStopping needs an evaluate callback");
  if (o.checkpointEvery !== undefined && !o.checkpointDir)
    throw new Error("Trainer: checkpointEvery needs checkpointDir");
  if (o.resume === true && !o.checkpointDir) throw new Error("Trainer: resume: true needs checkpointDir");
}

/** The optimizer of a {@link Trainer}: `o.optimizer`, or what its factory builds; it must update every parameter. */
export function trainerOptimizer<B>(o: TrainerOptions<B>, parameters: Array<[string, tf.Variable]>): Optimizer {
  const optimizer = typeof o.optimizer === "function" ? o.optimizer(parameters) : o.optimizer;
  const known = new Set(optimizer.parameterNames());
  const missing = parameters.map(([n]) => n).filter((n) => !known.has(n));
  if (missing.length) throw new Error(`Trainer: the optimizer does not update ${missing.join(", ")}`);
  return optimizer;
}
