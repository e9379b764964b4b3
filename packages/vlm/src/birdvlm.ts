import {
  tf,
  type CausalLanguageModel,
  type ChatMessage,
  type Connector,
  type GenerateOptions,
  type ImageBatch,
  type TextTokenizer,
  type VisionEncoder,
} from "@birdvlm/core";
import { checkMarkerCount, insertImageMarkers, resolveImageMarker, type ImageMarker } from "./image-marker.js";
import { toImageBatch, type ImageInput } from "./image-input.js";
import { mergeImageEmbeddings } from "./merge-embeddings.js";
import { readBirdVLMFolder, writeBirdVLMFolder, type LoadBirdVLMOptions } from "./model-folder.js";
import { emptyProvenance, type Provenance } from "./provenance.js";

/** The parts a BirdVLM is composed of; any implementation of core's interfaces fits. */
export interface BirdVLMParts {
  encoder: VisionEncoder;
  connector: Connector;
  lm: CausalLanguageModel;
  tokenizer: TextTokenizer;
  /** Image tokens K per prompt. Default: what the connector makes of the encoder's patch grid. */
  imageTokens?: number;
  /** The reserved token used as image marker. Default `<|image_pad|>`, else `<|placeholder1|>`. */
  imageMarker?: string;
}

/** Options of `ask`, `askBatch` and `caption`. */
export interface AskOptions {
  /** Default 64. */
  maxNewTokens?: number;
  /** Sampling (default greedy). */
  doSample?: boolean;
  temperature?: number;
  topK?: number;
  topP?: number;
  seed?: number;
  /** A system message put first. */
  system?: string;
  /** Streams each new piece of the answer (of sequence `index` in a batch) as it is decoded. */
  onToken?: (text: string, index: number) => void;
}

/** A padded batch of prompts: ids `[B][T]`, mask `[B][T]` (1 real, 0 pad), right-padded. */
export interface PaddedIds {
  ids: number[][];
  mask: number[][];
}

/**
 * A vision-language model: `encoder` (images → features) → `connector` (→ K embeddings in the LM's space),
 * written into the K `<|image_pad|>` marker positions of a chat prompt's embeddings → `lm` (Phi-3).
 */
export class BirdVLM {
  readonly encoder: VisionEncoder;
  readonly connector: Connector;
  readonly lm: CausalLanguageModel;
  readonly tokenizer: TextTokenizer;
  readonly imageTokens: number;
  readonly marker: ImageMarker;
  /** Which dataset and images trained each part (saved as `provenance.json`). */
  provenance: Provenance = emptyProvenance();
  /**
   * Where the language model was loaded from, with the checksum of its weights, while it is unchanged: `save`
   * then writes a reference instead of a copy. Cleared when a stage trains it.
   */
  lmSource: { dir: string; sha256: string } | undefined;
  /** Dataset images are cropped to their bounding boxes before encoding (how the model was trained; saved in config.json). */
  cropToBox = false;

  private constructor(parts: BirdVLMParts, imageTokens: number, marker: ImageMarker) {
    this.encoder = parts.encoder;
    this.connector = parts.connector;
    this.lm = parts.lm;
    this.tokenizer = parts.tokenizer;
    this.imageTokens = imageTokens;
    this.marker = marker;
  }

  /**
   * Composes a BirdVLM from parts, checking that their widths fit (encoder width = connector input,
   * connector output = LM hidden size) and that the tokenizer has a reserved image marker inside the LM's vocabulary.
   */
  static create(parts: BirdVLMParts): BirdVLM {
    const { encoder, connector, lm, tokenizer } = parts;
    if (connector.inputDim !== encoder.hiddenSize)
      throw new Error(
        `BirdVLM.create: the connector takes width ${connector.inputDim}, the encoder gives ${encoder.hiddenSize}`,
      );
    if (connector.outputDim !== lm.hiddenSize)
      throw new Error(
        `BirdVLM.create: the connector gives width ${connector.outputDim}, the language model takes ${lm.hiddenSize}`,
      );
    const marker = resolveImageMarker(tokenizer, parts.imageMarker);
    if (marker.id >= lm.vocabSize)
      throw new Error(
        `BirdVLM.create: image marker '${marker.token}' has id ${marker.id}, outside the language model's ${lm.vocabSize} embeddings`,
      );
    const k = parts.imageTokens ?? probeImageTokens(encoder, connector);
    if (!Number.isInteger(k) || k <= 0)
      throw new Error(`BirdVLM.create: imageTokens must be a positive integer, got ${k}`);
    return new BirdVLM(parts, k, marker);
  }

  /**
   * Normalized images `[B,S,S,3]` → image embeddings `[B,K,D]` (encoder, then connector). `encoderTraining`
   * (default: `training`) keeps a frozen encoder's dropout and drop-path off while the rest trains.
   */
  encodeImages(images: ImageBatch, options: { training?: boolean; encoderTraining?: boolean } = {}): tf.Tensor3D {
    return tf.tidy(() => {
      const f = this.encoder.encode(images, { training: options.encoderTraining ?? options.training });
      const out = this.connector.forward(f, options);
      if (out.shape[1] !== this.imageTokens)
        throw new Error(`the connector made ${out.shape[1]} image tokens, this BirdVLM expects ${this.imageTokens}`);
      return out;
    });
  }

  /** Decodes and normalizes images given as paths, Buffers, or one `ImageBatch`: `[B,S,S,3]`. */
  loadImages(images: readonly ImageInput[]): Promise<ImageBatch> {
    return toImageBatch(images, this.encoder);
  }

  /**
   * Embeds ids `[B][T]` (each row with K markers) and writes the image embeddings `[B,K,D]` into the markers:
   * `[B,T,D]`. Differentiable with respect to both.
   */
  embedWithImages(ids: readonly (readonly number[])[], imageEmbeds: tf.Tensor3D): tf.Tensor3D {
    ids.forEach((row, i) => checkMarkerCount(row, this.marker, this.imageTokens, `prompt ${i}`));
    return tf.tidy(() => {
      const text = this.lm.embed(tf.tensor2d(ids as number[][], [ids.length, ids[0]!.length], "int32"));
      return mergeImageEmbeddings(text, ids, imageEmbeds, this.marker.id);
    });
  }

  /**
   * One decoder pass over right-padded ids with images: logits `[B,T,vocab]`.
   * @param images normalized `[B,S,S,3]`.
   */
  logits(
    batch: PaddedIds,
    images: ImageBatch,
    options: { training?: boolean; encoderTraining?: boolean } = {},
  ): tf.Tensor3D {
    return tf.tidy(() => this.logitsWithImageEmbeds(batch, this.encodeImages(images, options), options));
  }

  /** As `logits`, from image embeddings `[B,K,D]` already computed (e.g. one image scored against many answers). */
  logitsWithImageEmbeds(batch: PaddedIds, imageEmbeds: tf.Tensor3D, options: { training?: boolean } = {}): tf.Tensor3D {
    return tf.tidy(() => {
      const embeds = this.embedWithImages(batch.ids, imageEmbeds);
      const mask = tf.tensor2d(batch.mask, [batch.mask.length, batch.mask[0]!.length], "int32");
      return this.lm.forward(null, { inputsEmbeds: embeds, attentionMask: mask, training: options.training }).logits;
    });
  }

  /** The chat messages of a question about an image: K markers put where `<image>` is, or before the question. */
  imageMessages(question: string, system?: string): ChatMessage[] {
    const user: ChatMessage = { role: "user", content: insertImageMarkers(question, this.marker, this.imageTokens) };
    return system ? [{ role: "system", content: system }, user] : [user];
  }

  /** Token ids of the prompt for a question (chat template with the generation prompt). */
  promptIds(question: string, system?: string): number[] {
    const ids = this.tokenizer.encode(
      this.tokenizer.applyChatTemplate(this.imageMessages(question, system), { addGenerationPrompt: true }),
    );
    checkMarkerCount(ids, this.marker, this.imageTokens);
    return ids;
  }

  /** Answers a question about one image. */
  async ask(image: ImageInput, question: string, options: AskOptions = {}): Promise<string> {
    const isBatch = image instanceof tf.Tensor;
    if (isBatch && image.shape[0] !== 1)
      throw new Error(`ask: takes one image, got a batch of ${image.shape[0]} (use askBatch)`);
    return (await this.askBatch([image], [question], options))[0]!;
  }

  /** Answers one question per image (a question list of length 1 is asked of every image). */
  async askBatch(
    images: readonly ImageInput[] | ImageBatch,
    questions: readonly string[],
    options: AskOptions = {},
  ): Promise<string[]> {
    const batch = images instanceof tf.Tensor ? tf.clone(images) : await this.loadImages(images);
    const n = batch.shape[0];
    try {
      const qs = questions.length === 1 ? new Array<string>(n).fill(questions[0]!) : [...questions];
      if (qs.length !== n) throw new Error(`askBatch: ${n} images but ${qs.length} questions`);
      const prompts = qs.map((q) => this.promptIds(q, options.system));
      return await this.generateFromPrompts(batch, prompts, options);
    } finally {
      batch.dispose();
    }
  }

  /** Describes an image. */
  caption(image: ImageInput, options: AskOptions = {}): Promise<string> {
    return this.ask(image, "Describe the bird in the image.", options);
  }

  /** Generates from prompt ids (each with K markers) and normalized images `[B,S,S,3]`; returns decoded answers. */
  async generateFromPrompts(images: ImageBatch, prompts: number[][], options: AskOptions = {}): Promise<string[]> {
    const imageEmbeds = this.encodeImages(images);
    const promptEmbeds = prompts.map((p, i) =>
      tf.tidy(() => this.embedWithImages([p], tf.slice(imageEmbeds, [i, 0, 0], [1, -1, -1]) as tf.Tensor3D)),
    );
    imageEmbeds.dispose();
    const produced: number[][] = prompts.map(() => []);
    const shown = prompts.map(() => "");
    const stops = new Set(this.tokenizer.stopTokenIds);
    try {
      // `padTokenId` (Phi-3's extra option) keeps the padding of finished or shorter sequences inside the vocabulary.
      const generateOptions: GenerateOptions & { padTokenId?: number } = {
        padTokenId: this.tokenizer.tokenToId("<|endoftext|>") ?? this.tokenizer.stopTokenIds[0] ?? 0,
        maxNewTokens: options.maxNewTokens ?? 64,
        doSample: options.doSample,
        temperature: options.temperature,
        topK: options.topK,
        topP: options.topP,
        seed: options.seed,
        stopTokenIds: this.tokenizer.stopTokenIds,
        promptEmbeds,
        onToken: options.onToken
          ? (token, i) => {
              if (stops.has(token)) return;
              produced[i]!.push(token);
              const text = this.tokenizer.decode(produced[i]!, { skipSpecialTokens: true });
              if (text.length > shown[i]!.length && text.startsWith(shown[i]!)) {
                options.onToken!(text.slice(shown[i]!.length), i);
                shown[i] = text;
              }
            }
          : undefined,
      };
      const out = await this.lm.generate(prompts, generateOptions);
      return out.map((ids) =>
        this.tokenizer
          .decode(
            ids.filter((t) => !stops.has(t)),
            { skipSpecialTokens: true },
          )
          .trim(),
      );
    } finally {
      for (const e of promptEmbeds) e.dispose();
    }
  }

  /** Notes that the language model's weights changed (so `save` copies them instead of referencing the source). */
  markLanguageModelChanged(): void {
    this.lmSource = undefined;
  }

  /** Writes the model as a folder (see `writeBirdVLMFolder`). */
  save(dir: string): Promise<void> {
    return writeBirdVLMFolder(dir, this);
  }

  /**
   * Loads a folder written by `save` (`lmWeightDtype: "bfloat16"`: the LM's linear weights as bf16, inference only);
   * a referenced LM must still have the recorded checksum.
   */
  static async load(dir: string, options: LoadBirdVLMOptions = {}): Promise<BirdVLM> {
    const f = await readBirdVLMFolder(dir, options);
    const vlm = BirdVLM.create({
      encoder: f.encoder,
      connector: f.connector,
      lm: f.lm,
      tokenizer: f.tokenizer,
      imageTokens: f.imageTokens,
      imageMarker: f.marker.token,
    });
    vlm.lmSource = f.lmSource;
    vlm.cropToBox = f.cropToBox;
    vlm.provenance = f.provenance;
    return vlm;
  }

  /** Frees every part's weights. */
  dispose(): void {
    this.encoder.dispose();
    this.connector.dispose();
    this.lm.dispose();
  }
}

function probeImageTokens(encoder: VisionEncoder, connector: Connector): number {
  return tf.tidy(() => {
    const f = encoder.encode(tf.zeros([1, encoder.imageSize, encoder.imageSize, 3]) as ImageBatch);
    return connector.tokenCount(f.grid);
  });
}

/** Writes a BirdVLM as a folder: `vlm.save(dir)`. */
export function saveBirdVLM(vlm: BirdVLM, dir: string): Promise<void> {
  return vlm.save(dir);
}

/** Loads a folder written by `saveBirdVLM`: `BirdVLM.load(dir, options)`. */
export function loadBirdVLM(dir: string, options: LoadBirdVLMOptions = {}): Promise<BirdVLM> {
  return BirdVLM.load(dir, options);
}
