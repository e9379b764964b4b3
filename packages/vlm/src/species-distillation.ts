import { tf, type ImageBatch } from "@birdvlm/core";
import type { AnswerSampler, UniformSource, VlmExample } from "./train-stage.js";

/** An image classifier: a ViT with a head (`VisionTransformer`), or anything with the same `classify`. */
export interface ImageClassifier {
  classify(images: ImageBatch): tf.Tensor2D;
}

/** Options of {@link speciesBeliefs}. */
export interface SpeciesBeliefOptions {
  /** Class index of the head → index of its species (identity for CUB; NABirds' categories → species). */
  speciesOfClass?: readonly number[];
  /** Number of species (default: the head's classes). */
  speciesCount?: number;
  /** Softmax temperature of the head's logits (default 1; small values approach the head's argmax). */
  temperature?: number;
}

/**
 * The classifier's belief about each image's species: `softmax(logits / T)` summed over the classes of each
 * species, one `Float32Array` (summing to 1) per image of the batch. Runs the classifier in inference mode.
 */
export function speciesBeliefs(
  classifier: ImageClassifier,
  images: ImageBatch,
  options: SpeciesBeliefOptions = {},
): Float32Array[] {
  const t = options.temperature ?? 1;
  if (!(t > 0)) throw new Error(`speciesBeliefs: temperature must be > 0, got ${t}`);
  const probs = tf.tidy(() => tf.softmax(tf.div(classifier.classify(images), t)));
  const [rows, classes] = probs.shape as [number, number];
  const p = probs.dataSync() as Float32Array;
  probs.dispose();
  const count = options.speciesCount ?? classes;
  const map = options.speciesOfClass;
  if (map ? map.length !== classes : count !== classes)
    throw new Error(
      `speciesBeliefs: the classifier has ${classes} classes for ${map ? `a speciesOfClass of ${map.length}` : `${count} species`}`,
    );
  return Array.from({ length: rows }, (_, r) => {
    const out = new Float32Array(count);
    for (let c = 0; c < classes; c++)
      out[options.speciesOfClass ? options.speciesOfClass[c]! : c]! += p[r * classes + c]!;
    return out;
  });
}

/** Options of {@link SpeciesDistillation}. */
export interface SpeciesDistillationOptions extends SpeciesBeliefOptions {
  /** The species names, in the order of the beliefs' entries. */
  speciesNames: readonly string[];
  /** The teacher: the VLM's own encoder with its classifier head. */
  classifier: ImageClassifier;
  /** Share of species answers that keep the label (default 0: every one is drawn from the teacher's belief). */
  labelShare?: number;
}

/**
 * Distillation of the encoder into the language path (Hinton et al. 2015, "Distilling the Knowledge in a Neural
 * Network", with sampled targets): in every batch, each species answer (the assistant turn at `speciesTurn`) is
 * replaced by a name drawn from the encoder head's belief about the image exactly as the model sees it this time
 * (after any augmentation). The language model then learns to say what the encoder sees, on as many views as the
 * training draws, instead of memorising which training photo is which species from its image tokens; attribute
 * answers stay as labelled.
 */
export class SpeciesDistillation implements AnswerSampler {
  private readonly options: SpeciesDistillationOptions;
  private readonly labelShare: number;

  constructor(options: SpeciesDistillationOptions) {
    this.options = options;
    this.labelShare = options.labelShare ?? 0;
    if (!(this.labelShare >= 0 && this.labelShare <= 1))
      throw new Error(`SpeciesDistillation: labelShare must be in [0, 1], got ${this.labelShare}`);
  }

  sample(examples: readonly VlmExample[], images: ImageBatch, rng: UniformSource): VlmExample[] {
    if (images.shape[0] !== examples.length)
      throw new Error(`SpeciesDistillation: ${examples.length} examples but ${images.shape[0]} images`);
    if (!examples.some((e) => e.speciesTurn !== undefined)) return [...examples];
    const names = this.options.speciesNames;
    const beliefs = speciesBeliefs(this.options.classifier, images, {
      ...this.options,
      speciesCount: this.options.speciesCount ?? names.length,
    });
    return examples.map((e, k) => {
      const turn = e.speciesTurn;
      if (turn === undefined || (this.labelShare > 0 && rng.float() < this.labelShare)) return e;
      const name = names[drawIndex(beliefs[k]!, rng.float())]!;
      return { ...e, messages: e.messages.map((m, i) => (i === turn ? { ...m, content: name } : m)) };
    });
  }
}

/** The index `i` where the running sum of `p` first passes `u * sum(p)`. */
export function drawIndex(p: Float32Array, u: number): number {
  let total = 0;
  for (const v of p) total += v;
  let acc = 0;
  const target = u * total;
  for (let i = 0; i < p.length; i++) {
    acc += p[i]!;
    if (acc > target) return i;
  }
  return p.length - 1;
}
