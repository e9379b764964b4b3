import { AdamW, Rng, clipByGlobalNorm, shiftedCausalLMLoss, tf, warmupCosineSchedule, type ChatMessage, type ParameterHolder } from "@birdvlm/core";
import type { BirdVLM } from "./birdvlm.js";
import { collate } from "./collate.js";
import { LLAVA_IMAGE_PLACEHOLDER, insertImageMarkers } from "./image-marker.js";
import type { ImageTable } from "./image-table.js";
import { labelConversation, supervisedShare, type LabeledSequence } from "./labels.js";
import { LossWatch } from "./loss-watch.js";
import { recordTraining, type PartName } from "./provenance.js";

/** One training conversation about one image (LLaVA style: `<image>` in the first user turn). */
export interface VlmExample {
  imageId: string;
  messages: ChatMessage[];
}

/** The two stages: `align` trains the projector alone on captions; `instruct` the projector (and optionally the LM) on QA. */
export type StageName = "align" | "instruct";

/** Options of `trainStage`. */
export interface StageOptions {
  stage: StageName;
  examples: VlmExample[];
  images: ImageTable;
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
  /** Also train the encoder's weights (instruct only). Default false. */
  trainEncoder?: boolean;
  seed?: number;
  /** Progress lines and warnings. Default: none. */
  log?: (line: string) => void;
  /** Called after every step with its loss. */
  onStep?: (step: number, loss: number) => void;
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
  for (const e of examples) if (!images.has(e.imageId)) throw new Error(`trainStage(${stage}): example image '${e.imageId}' is not in the image table`);
  const trainLm = stage === "instruct" && !!options.trainLanguageModel;
  const trainEnc = stage === "instruct" && !!options.trainEncoder;
  const parts: Array<[PartName, ParameterHolder, boolean]> = [["encoder", vlm.encoder, trainEnc], ["projector", vlm.connector, true], ["lm", vlm.lm, trainLm]];
  const named: Array<[string, tf.Variable]> = [];
  const wasTrainable = new Map<tf.Variable, boolean>();
  for (const [name, part, on] of parts) for (const [n, v] of part.namedParameters()) {
    wasTrainable.set(v, v.trainable);
    v.trainable = on;
    if (on) named.push([`${name}.${n}`, v]);
  }

  const sequences = labelExamples(vlm, examples);
  const share = supervisedShare(sequences);
  if (share === 0) throw new Error(`trainStage(${stage}): no token is supervised (every label is -100): the examples need assistant answers`);
  log(`${stage}: ${examples.length} examples, ${(share * 100).toFixed(1)}% of tokens supervised, training ${parts.filter((p) => p[2]).map((p) => p[0]).join(" + ")} (${named.reduce((s, [, v]) => s + v.size, 0).toLocaleString("en-US")} weights)`);

  const batchSize = Math.min(options.batchSize ?? 16, examples.length);
  const perEpoch = Math.ceil(examples.length / batchSize);
  const steps = options.steps ?? perEpoch * (options.epochs ?? 1);
  const lr = options.lr ?? (stage === "align" ? 1e-3 : 3e-4);
  const schedule = warmupCosineSchedule({ baseLr: lr, warmupSteps: Math.min(options.warmupSteps ?? Math.floor(steps * 0.05), steps - 1), totalSteps: steps, minLr: lr * 0.05 });
  const optimizer = new AdamW(named, { lr, weightDecay: options.weightDecay ?? 0 });
  const byVar = new Map(named.map(([n, v]) => [v.name, n]));
  const vars = named.map(([, v]) => v);
  const rng = new Rng(options.seed ?? 0);
  const watch = new LossWatch(log);
  const padId = vlm.tokenizer.stopTokenIds[0] ?? 0;
  const losses: number[] = [];
  const started = Date.now();
  let order: number[] = [];
  let lastLine = 0;
  for (let step = 0; step < steps; step++) {
    if (order.length < batchSize) order = order.concat(rng.permutation(examples.length));
    const pick = order.splice(0, batchSize);
    const batch = collate(pick.map((i) => sequences[i]!), padId);
    const imgs = images.gather(pick.map((i) => examples[i]!.imageId));
    const lossT = tf.tidy(() => {
      const labels = tf.tensor2d(batch.labels, [batch.labels.length, batch.labels[0]!.length], "int32");
      const { value, grads } = tf.variableGrads(() => shiftedCausalLMLoss(vlm.logits(batch, imgs, { training: true }), labels), vars);
      const namedGrads: Record<string, tf.Tensor> = {};
      for (const [k, g] of Object.entries(grads)) namedGrads[byVar.get(k)!] = g;
      optimizer.step(clipByGlobalNorm(namedGrads, options.maxGradNorm ?? 1).grads, schedule(step));
      return value;
    });
    imgs.dispose();
    const loss = (await lossT.data())[0]!;
    lossT.dispose();
    if (!Number.isFinite(loss)) throw new Error(`trainStage(${stage}): the loss is ${loss} at step ${step + 1}: lower the learning rate (now ${lr})`);
    losses.push(loss);
    watch.observe(loss);
    options.onStep?.(step, loss);
    if (Date.now() - lastLine > 2000 || step === steps - 1) {
      lastLine = Date.now();
      const s = (Date.now() - started) / 1000;
      log(`${stage}: step ${step + 1}/${steps}  loss ${loss.toFixed(4)}  lr ${schedule(step).toExponential(2)}  ${((step + 1) * batchSize / s).toFixed(1)} samples/s`);
    }
  }
  optimizer.dispose();
  for (const [v, t] of wasTrainable) v.trainable = t;
  const trainedParts = parts.filter((p) => p[2]).map((p) => p[0]);
  recordTraining(vlm.provenance, trainedParts, { stage, dataset: options.dataset, imageIds: [...new Set(examples.map((e) => e.imageId))] });
  if (trainLm) vlm.markLanguageModelChanged();
  return { losses, supervisedShare: share, steps, trainedParts, seconds: (Date.now() - started) / 1000 };
}
