import { Phi3ForCausalLM, applyLoRA, loraAdaptersOf, type LoRAOptions } from "@birdvlm/phi3";
import {
  AdamW,
  Trainer,
  shiftedCausalLMLoss,
  tf,
  warmupCosineSchedule,
  type ChatMessage,
  type ImageBatch,
  type ParameterHolder,
  type TrainableModel,
} from "@birdvlm/core";
import type { BirdVLM } from "./birdvlm.js";
import { collate, type CollatedBatch } from "./collate.js";
import { LLAVA_IMAGE_PLACEHOLDER, insertImageMarkers } from "./image-marker.js";
import type { ImageTable } from "./image-table.js";
import { labelConversation, supervisedShare, type LabeledSequence } from "./labels.js";
import { LossWatch } from "./loss-watch.js";
import { recordTraining, type PartName } from "./provenance.js";

/** One training conversation about one image (LLaVA style: `<image>` in the first user turn). */
export interface VlmExample {
  imageId: string;
  messages: ChatMessage[];
  /** Index in `messages` of the assistant turn that answers with the species name, when there is one. */
  speciesTurn?: number;
}

/** Draws of `[0, 1)` numbers: the trainer's data RNG. */
export interface UniformSource {
  float(): number;
}

/**
 * Chooses the answers a batch learns each time it is drawn (`trainStage`'s `answerSampler`), seeing the batch's
 * images as the model will: returns one example per example given, the same object where nothing changes.
 */
export interface AnswerSampler {
  sample(examples: readonly VlmExample[], images: ImageBatch, rng: UniformSource): VlmExample[];
}

/** Changes a batch's images each time it is drawn (e.g. {@link randomCropFlip}); returns a new tensor. */
export type BatchAugment = (images: ImageBatch, rng: UniformSource) => ImageBatch;

/** The two stages: `align` trains the projector alone on captions; `instruct` the projector (and optionally the LM) on QA. */
export type StageName = "align" | "instruct";

/** Options of `trainStage`. */
export interface StageOptions {
  stage: StageName;
  examples: VlmExample[];
  images: ImageTable;
  /**
   * Other views of the same images (e.g. the whole pictures when `images` holds the box crops), with the same ids:
   * each time an example is drawn, one of `images` and these is picked at random, so the model learns every view.
   */
  views?: ImageTable[];
  /** Replaces answers each time an example is drawn, e.g. a `SpeciesDistillation`. Default: none. */
  answerSampler?: AnswerSampler;
  /** Augments each batch's images as drawn (before the answer sampler sees them). Default: none. */
  augment?: BatchAugment;
  /** Fingerprint of the dataset the images come from (recorded in the provenance). */
  dataset: string;
  /** Passes over the examples (default 1); `steps` overrides. */
  epochs?: number;
  steps?: number;
  /** Default 16. */
  batchSize?: number;
  /** Peak learning rate (warmup then cosine). Default 1e-3 (align) / 3e-4 (instruct). */
  lr?: number;
  /** Default: 5% of the steps. */
  warmupSteps?: number;
  /** Default 0. */
  weightDecay?: number;
  /** Global gradient-norm clip. Default 1. */
  maxGradNorm?: number;
  /** Also train the language model's weights (instruct only). Default false. */
  trainLanguageModel?: boolean;
  /**
   * Train LoRA adapters on the language model (instruct only; a Phi-3): its base weights stay frozen and unchanged,
   * so a saved model can still refer to the LM's folder. Adapters already on the LM are trained further.
   */
  lora?: LoRAOptions;
  /** Also train the encoder's weights (instruct only). Default false. */
  trainEncoder?: boolean;
  seed?: number;
  /** Progress lines and warnings. Default: none. */
  log?: (line: string) => void;
  /** Called after every step with its loss. */
  onStep?: (step: number, loss: number) => void;
  /** The Trainer's progress line on stderr. Default false. */
  progress?: boolean;
  /** Checkpoints of the trained parameters every `checkpointEvery` steps, resumable with `resume`. */
  checkpointDir?: string;
  checkpointEvery?: number;
  resume?: boolean;
  /** JSON Lines metrics and a PNG of the curves. */
  metricsFile?: string;
  curvesFile?: string;
}

interface StageBatch {
  batch: CollatedBatch;
  images: ImageBatch;
  labels: tf.Tensor2D;
}

/** What a stage did. */
export interface StageResult {
  losses: number[];
  supervisedShare: number;
  steps: number;
  trainedParts: PartName[];
  seconds: number;
}

/** The conversation with the K image markers written where `<image>` is (or before the first user turn). */
export function withImageMarkers(vlm: BirdVLM, messages: ChatMessage[]): ChatMessage[] {
  let done = false;
  return messages.map((m) => {
    if (done || m.role !== "user") return { ...m, content: m.content.replaceAll(LLAVA_IMAGE_PLACEHOLDER, "") };
    done = true;
    return { ...m, content: insertImageMarkers(m.content, vlm.marker, vlm.imageTokens) };
  });
}

/** Tokenizes and labels the examples for a VLM (image markers inserted, answers learned). */
export function labelExamples(vlm: BirdVLM, examples: readonly VlmExample[]): LabeledSequence[] {
  return examples.map((e) => labelConversation(vlm.tokenizer, withImageMarkers(vlm, e.messages)));
}

/**
 * Trains one stage. `align`: encoder and LM frozen, the projector learns. `instruct`: the projector, plus the LM
 * and/or the encoder when asked. Fails before the first step when no token is supervised; warns when the loss falls
 * implausibly fast; records which images trained which part in `vlm.provenance`.
 */
export async function trainStage(vlm: BirdVLM, options: StageOptions): Promise<StageResult> {
  const log = options.log ?? (() => undefined);
  const { stage, examples, images } = options;
  if (!examples.length) throw new Error(`trainStage(${stage}): no examples`);
  const tables = [images, ...(options.views ?? [])];
  for (const e of examples)
    tables.forEach((t, k) => {
      if (!t.has(e.imageId))
        throw new Error(
          `trainStage(${stage}): example image '${e.imageId}' is not in the image table${k ? ` of view ${k}` : ""}`,
        );
    });
  const useLora = stage === "instruct" && !!options.lora;
  if (useLora) {
    if (!(vlm.lm instanceof Phi3ForCausalLM))
      throw new Error(`trainStage(${stage}): LoRA needs a Phi3ForCausalLM language model`);
    if (options.trainLanguageModel)
      throw new Error(`trainStage(${stage}): choose trainLanguageModel (all LM weights) or lora (adapters), not both`);
    if (!loraAdaptersOf(vlm.lm)) applyLoRA(vlm.lm, options.lora!);
  }
  const trainLm = stage === "instruct" && (!!options.trainLanguageModel || useLora);
  const trainEnc = stage === "instruct" && !!options.trainEncoder;
  const parts: Array<[PartName, ParameterHolder, boolean]> = [
    ["encoder", vlm.encoder, trainEnc],
    ["projector", vlm.connector, true],
    ["lm", vlm.lm, trainLm],
  ];
  const named: Array<[string, tf.Variable]> = [];
  const wasTrainable = new Map<tf.Variable, boolean>();
  for (const [name, part, on] of parts)
    for (const [n, v] of part.namedParameters()) {
      wasTrainable.set(v, v.trainable);
      v.trainable = on && !(useLora && name === "lm" && !/\.lora_[AB]\./.test(n));
      if (v.trainable) named.push([`${name}.${n}`, v]);
    }

  const sequences = labelExamples(vlm, examples);
  const share = supervisedShare(sequences);
  if (share === 0)
    throw new Error(
      `trainStage(${stage}): no token is supervised (every label is -100): the examples need assistant answers`,
    );
  log(
    `${stage}: ${examples.length} examples, ${(share * 100).toFixed(1)}% of tokens supervised, training ${parts
      .filter((p) => p[2])
      .map((p) => p[0])
      .join(" + ")} (${named.reduce((s, [, v]) => s + v.size, 0).toLocaleString("en-US")} weights)`,
  );

  const batchSize = Math.min(options.batchSize ?? 16, examples.length);
  const perEpoch = Math.ceil(examples.length / batchSize);
  const steps = options.steps ?? perEpoch * (options.epochs ?? 1);
  const lr = options.lr ?? (stage === "align" ? 1e-3 : 3e-4);
  const schedule = warmupCosineSchedule({
    baseLr: lr,
    warmupSteps: Math.min(options.warmupSteps ?? Math.floor(steps * 0.05), steps - 1),
    totalSteps: steps,
    minLr: lr * 0.05,
  });
  const watch = new LossWatch(log);
  const padId = vlm.tokenizer.stopTokenIds[0] ?? 0;
  const losses: number[] = [];
  const started = Date.now();
  const model: TrainableModel = {
    namedParameters: () => named,
    trainableParameters: () => named.filter(([, v]) => v.trainable),
    parameterCount: () => named.reduce((n, [, v]) => n + v.size, 0),
    dispose: () => undefined,
    train: (mode = true) => {
      for (const [, part] of parts) (part as { train?: (m: boolean) => unknown }).train?.(mode);
    },
  };
  function* data(
    _epoch: number,
    rng: { permutation(n: number): number[]; int(n: number): number; float(): number },
  ): Iterable<StageBatch> {
    const order = rng.permutation(examples.length);
    for (let s = 0; s < order.length; s += batchSize) {
      const pick = order.slice(s, s + batchSize);
      const ids = pick.map((i) => examples[i]!.imageId);
      const view = ids.map(() => (tables.length > 1 ? rng.int(tables.length) : 0));
      let images = gatherViews(tables, ids, view);
      if (options.augment) {
        const augmented = options.augment(images, rng);
        images.dispose();
        images = augmented;
      }
      const drawn = options.answerSampler?.sample(
        pick.map((i) => examples[i]!),
        images,
        rng,
      );
      const batch = collate(
        pick.map((i, k) => (drawn && drawn[k] !== examples[i] ? labelExamples(vlm, [drawn[k]!])[0]! : sequences[i]!)),
        padId,
      );
      yield {
        batch,
        images,
        labels: tf.tensor2d(batch.labels, [batch.labels.length, batch.labels[0]!.length], "int32"),
      };
    }
  }
  let lastLine = 0;
  const trainer = new Trainer<StageBatch>({
    model,
    parameters: named,
    loss: (b) =>
      shiftedCausalLMLoss(vlm.logits(b.batch, b.images, { training: true, encoderTraining: trainEnc }), b.labels),
    data,
    optimizer: (params) => new AdamW(params, { lr, weightDecay: options.weightDecay ?? 0 }),
    schedule,
    maxSteps: steps,
    clipGradNorm: options.maxGradNorm ?? 1,
    seed: options.seed ?? 0,
    itemsInBatch: (b) => b.batch.ids.length,
    itemName: "ex",
    disposeBatch: (b) => {
      b.images.dispose();
      b.labels.dispose();
    },
    logEvery: 1,
    progress: options.progress ?? false,
    checkpointDir: options.checkpointDir,
    checkpointEvery: options.checkpointEvery,
    checkpointParameters: "trained",
    resume: options.resume,
    metricsFile: options.metricsFile,
    curvesFile: options.curvesFile,
    setTrainMode: true,
    onRecord: (r) => {
      if (r.kind !== "train" || typeof r.loss !== "number") return;
      const step = losses.length;
      losses.push(r.loss);
      watch.observe(r.loss);
      options.onStep?.(step, r.loss);
      if (Date.now() - lastLine > 2000 || r.step === steps) {
        lastLine = Date.now();
        const sec = (Date.now() - started) / 1000;
        log(
          `${stage}: step ${r.step}/${steps}  loss ${r.loss.toFixed(4)}  lr ${schedule(r.step - 1).toExponential(2)}  ${((r.step * batchSize) / sec).toFixed(1)} samples/s`,
        );
      }
    },
  });
  try {
    await trainer.fit();
  } finally {
    trainer.dispose();
    for (const [, part] of parts) (part as { train?: (m: boolean) => unknown }).train?.(false);
  }
  for (const [v, t] of wasTrainable) v.trainable = t;
  const trainedParts = parts.filter((p) => p[2]).map((p) => p[0]);
  recordTraining(vlm.provenance, trainedParts, {
    stage,
    dataset: options.dataset,
    imageIds: [...new Set(examples.map((e) => e.imageId))],
  });
  if (trainLm && !useLora) vlm.markLanguageModelChanged();
  return { losses, supervisedShare: share, steps, trainedParts, seconds: (Date.now() - started) / 1000 };
}

/** The images of `ids`, the k-th from `tables[view[k]]`, in order: `[ids.length,S,S,3]`; the caller disposes it. */
export function gatherViews(
  tables: readonly ImageTable[],
  ids: readonly string[],
  view: readonly number[],
): ImageBatch {
  const used = [...new Set(view)];
  if (used.length === 1) return tables[used[0]!]!.gather(ids);
  const parts: ImageBatch[] = [];
  const position: number[] = new Array(ids.length);
  let at = 0;
  for (const v of used) {
    const members = ids.flatMap((_, k) => (view[k] === v ? [k] : []));
    members.forEach((k) => (position[k] = at++));
    parts.push(tables[v]!.gather(members.map((k) => ids[k]!)));
  }
  const out = tf.tidy(() => tf.gather(tf.concat(parts, 0), tf.tensor1d(position, "int32")) as ImageBatch);
  tf.dispose(parts);
  return out;
}
