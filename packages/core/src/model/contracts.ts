import type { tf } from "../tf.js";

/**
 * A batch of images: float32 `[B, H, W, 3]` (NHWC), already normalized with the encoder's mean and std.
 */
export type ImageBatch = tf.Tensor4D;

/**
 * Token embeddings: float32 `[B, T, D]`.
 */
export type TokenEmbeddings = tf.Tensor3D;

/**
 * What a vision encoder produces for a batch of images.
 */
export interface VisionFeatures {
  /** `[B, 1+N, D]` with a class token, `[B, N, D]` without; after the final norm. */
  lastHiddenState: tf.Tensor3D;
  /** `[B, D]`: the class token (or the pooled token when the encoder has no class token), when it exists. */
  cls?: tf.Tensor2D;
  /**
   * `[B, D]`: what the encoder's classifier head reads (its pooling's output: the class token, the mean of the
   * patches or an attention pool), when the encoder has a pooling. Differs from `cls` unless it pools by class token.
   */
  pooled?: tf.Tensor2D;
  /** `[B, N, D]`: the patch tokens, row-major over `grid`. */
  patches: tf.Tensor3D;
  /** The patch grid `[rows, cols]`, so `rows * cols === N`. */
  grid: [number, number];
}

/** Options shared by the forward passes of trainable parts. */
export interface ForwardOptions {
  /** Dropout and drop-path are active only when `true`. Default `false`. */
  training?: boolean;
}

/**
 * Anything whose weights are named `tf.Variable`s: implemented by `Module`.
 */
export interface ParameterHolder {
  /** Every parameter with its reference name (e.g. `blocks.0.attn.qkv.weight`). */
  namedParameters(): Array<[string, tf.Variable]>;
  /** Only the parameters that train (not frozen). */
  trainableParameters(): Array<[string, tf.Variable]>;
  /** Number of scalar weights, all or trainable only. */
  parameterCount(options?: { trainableOnly?: boolean }): number;
  /** Frees every variable. */
  dispose(): void;
}

/**
 * An image encoder: `ImageBatch [B,H,W,3]` in, `VisionFeatures` out. `@birdvlm/vit` implements it.
 */
export interface VisionEncoder extends ParameterHolder {
  /** Width `D` of the features. */
  readonly hiddenSize: number;
  /** Input height and width the encoder expects (square images). */
  readonly imageSize: number;
  /** Per-channel normalization the encoder was trained with (RGB, applied to values in [0,1]). */
  readonly mean: [number, number, number];
  readonly std: [number, number, number];
  /**
   * The fraction of an image's shorter side that evaluation keeps, centred, before resizing to `imageSize` (timm's
   * `crop_pct`: 0.875 for an encoder trained on random-resized crops). Absent: 1, the whole square.
   */
  readonly cropPct?: number;
  /** `[B,H,W,3]` → features; the caller disposes the returned tensors. */
  encode(images: ImageBatch, options?: ForwardOptions): VisionFeatures;
  /** Writes a checkpoint folder (`config.json` + `model.safetensors`). */
  save(dir: string): Promise<void>;
}

/**
 * Maps vision features to `K` embeddings in the language model's space. `@birdvlm/projector` implements it.
 */
export interface Connector extends ParameterHolder {
  readonly inputDim: number;
  readonly outputDim: number;
  /** Number of image tokens `K` this connector produces for a patch grid. */
  tokenCount(grid: [number, number]): number;
  /** features → `[B, K, outputDim]`. */
  forward(features: VisionFeatures, options?: ForwardOptions): TokenEmbeddings;
  /** Writes `config.json` + `model.safetensors` into `dir`. */
  save(dir: string): Promise<void>;
}

/** An opaque key/value cache owned by a language model; dispose it when done. */
export interface KVCache {
  /** Number of positions already in the cache. */
  readonly length: number;
  dispose(): void;
}

/** Inputs of one decoder pass. */
export interface LanguageModelForwardOptions extends ForwardOptions {
  /** `[B, T_total]` 1 for real tokens, 0 for padding (covers cached positions plus the new ones). */
  attentionMask?: tf.Tensor2D;
  /** `[B, T]` int32 positions of the new tokens. Default: continue from the cache, or from the mask. */
  positionIds?: tf.Tensor2D;
  /** `[B, T, D]` used instead of embedding `inputIds` (so image embeddings can be written in). */
  inputsEmbeds?: TokenEmbeddings;
  /** A cache from an earlier call: the new tokens attend to it and it is extended. */
  cache?: KVCache;
  /** Ask for a cache back (default `false` unless `cache` was passed). */
  useCache?: boolean;
}

/** What a decoder pass returns; the caller disposes `logits` (and `cache` when it is done with it). */
export interface LanguageModelOutput {
  /** `[B, T, vocab]` float32. */
  logits: tf.Tensor3D;
  cache?: KVCache;
}

/** Options of `CausalLanguageModel.generate`. */
export interface GenerateOptions {
  maxNewTokens: number;
  /** Sample instead of greedy decoding. Default `false`. */
  doSample?: boolean;
  temperature?: number;
  topK?: number;
  topP?: number;
  /** Generation of a sequence stops after it produces one of these. */
  stopTokenIds?: number[];
  /** Seed of the sampler, for repeatable samples. */
  seed?: number;
  /** Called with each new token of each sequence, as it is produced. */
  onToken?: (token: number, sequenceIndex: number) => void;
  /**
   * One `[1, T_i, D]` per prompt, used instead of the embeddings of that prompt's ids
   * (the VLM writes image embeddings into them). `T_i` equals the prompt's length.
   */
  promptEmbeds?: TokenEmbeddings[];
}

/**
 * A decoder-only language model. `@birdvlm/phi3` implements it.
 */
export interface CausalLanguageModel extends ParameterHolder {
  readonly hiddenSize: number;
  readonly vocabSize: number;
  /** `[B, T]` int32 ids → `[B, T, D]` embeddings. */
  embed(ids: tf.Tensor2D): TokenEmbeddings;
  /** One pass over `inputIds` `[B, T]` int32 (may be `null` when `inputsEmbeds` is given). */
  forward(inputIds: tf.Tensor2D | null, options?: LanguageModelForwardOptions): LanguageModelOutput;
  /** Generates new tokens for each prompt; returns only the new tokens, per prompt. */
  generate(prompts: number[][], options: GenerateOptions): Promise<number[][]>;
  /** Writes a checkpoint folder (`config.json` + `model.safetensors`). */
  save(dir: string): Promise<void>;
}

/** A chat message, as chat templates expect it. */
export interface ChatMessage {
  role: "system" | "user" | "assistant";
  content: string;
}

/**
 * A text tokenizer with a chat template. `@birdvlm/phi3`'s `Phi3Tokenizer` implements it.
 */
export interface TextTokenizer {
  readonly vocabSize: number;
  encode(text: string, options?: { addSpecialTokens?: boolean }): number[];
  decode(ids: number[], options?: { skipSpecialTokens?: boolean }): string;
  /** Renders the tokenizer's own chat template. */
  applyChatTemplate(messages: ChatMessage[], options?: { addGenerationPrompt?: boolean }): string;
  /** Id of a token, or `undefined` when the vocabulary lacks it. */
  tokenToId(token: string): number | undefined;
  /** Token ids that end an assistant turn / a generation. */
  readonly stopTokenIds: number[];
  /** Writes `tokenizer.json` + `tokenizer_config.json` into `dir`. */
  save(dir: string): Promise<void>;
}
