import {
  Linear,
  Module,
  ParameterInit,
  deriveSeed,
  tf,
  type InitMode,
  type CausalLanguageModel,
  type LanguageModelForwardOptions,
  type LanguageModelOutput,
  type TokenEmbeddings,
} from "@birdvlm/core";
import { attentionBias } from "./attention-mask.js";
import type { LayerContext } from "./attention.js";
import { phi3Config, type Phi3Config } from "./config.js";
import { generate, type Phi3GenerateOptions } from "./generate.js";
import { Phi3KVCache } from "./kv-cache.js";
import { bf16Layers, linearLayers, type Phi3WeightDtype } from "./bf16-weights.js";
import { loadPhi3Checkpoint, savePhi3Checkpoint } from "./checkpoint.js";
import { Phi3Model } from "./phi3-model.js";
import { RotaryEmbedding } from "./rotary.js";

/** Options of `new Phi3ForCausalLM(config, options)`. */
export interface Phi3InitOptions {
  /** Seed of the random initialization (same seed, same weights). Default 0. */
  seed?: number;
  /** `random` (N(0, initializerRange²), norms 1) or `zeros` (fast, before loading weights). Default `random`. */
  init?: InitMode;
}

/** Options of `Phi3ForCausalLM.load(dir, options)`. */
export interface Phi3LoadOptions {
  /**
   * `float32` (default; trainable) or `bfloat16`: the linear layers (qkv_proj, o_proj, gate_up_proj, down_proj,
   * lm_head) and the token embeddings (unless the head is tied to them) keep bf16 weights: half the memory and
   * half the bytes a decoding step reads, for inference only (exact for a BF16 checkpoint; other dtypes are
   * rounded to nearest even). Norms stay float32.
   */
  weightDtype?: Phi3WeightDtype;
}

/** Forward options with Phi-3 extras. */
export interface Phi3ForwardOptions extends LanguageModelForwardOptions {
  /** Compute logits only for the last `logitsToKeep` positions (generation needs 1). Default: all. */
  logitsToKeep?: number;
  /** Seed of the dropout masks of this pass (training only). Default: a counter. */
  dropoutSeed?: number;
}

// Reference: transformers `models/phi3/modeling_phi3.py` `Phi3ForCausalLM`.
/**
 * Phi-3 decoder with its language-model head, computing exactly what transformers' `Phi3ForCausalLM` does:
 * RMSNorm, RoPE / LongRoPE, grouped-query attention with a sliding window, SiLU-gated MLP, untied `lm_head`.
 * Parameters use the checkpoint names (`model.layers.0.self_attn.qkv_proj.weight`, ...); linear weights are
 * kept `[in, out]`.
 */
export class Phi3ForCausalLM extends Module implements CausalLanguageModel {
  readonly config: Phi3Config;
  readonly model: Phi3Model;
  /** `undefined` when the head is tied to the embeddings. */
  readonly lmHead: Linear | undefined;
  readonly rotary: RotaryEmbedding;
  /** Base seed of the dropout masks when a pass gives none, and how many passes have drawn one. */
  private readonly dropoutBase: number;
  private dropoutCounter = 0;
  /** Parameters attached from outside the tree (LoRA adapters), listed with the model's own. */
  private readonly extraParameters = new Map<string, Module>();

  constructor(config: Partial<Phi3Config> = {}, options: Phi3InitOptions = {}) {
    super();
    this.config = phi3Config(config);
    const init = new ParameterInit(options.seed ?? 0, {
      std: this.config.initializerRange,
      mode: options.init ?? "random",
      linear: "normal",
    });
    this.dropoutBase = init.seed;
    this.model = this.registerModule("model", new Phi3Model(this.config, init));
    this.lmHead = this.config.tieWordEmbeddings
      ? undefined
      : this.registerModule(
          "lm_head",
          new Linear(this.config.hiddenSize, this.config.vocabSize, init, { bias: false }),
        );
    this.rotary = new RotaryEmbedding(this.config);
  }

  /**
   * Loads a checkpoint folder: `config.json` and `model.safetensors` or a sharded
   * `model.safetensors.index.json` (F32, F16 or BF16; converted to float32 one tensor at a time, or with
   * `weightDtype: "bfloat16"` the linear weights kept as bf16 for inference).
   */
  static async load(dir: string, options: Phi3LoadOptions = {}): Promise<Phi3ForCausalLM> {
    return loadPhi3Checkpoint(dir, (config) => new Phi3ForCausalLM(config, { init: "zeros" }), options);
  }

  /** `bfloat16` once the linear layers hold bf16 weights (see {@link Phi3ForCausalLM.toBf16Weights}), else `float32`. */
  get weightDtype(): Phi3WeightDtype {
    return linearLayers(this).some(([, l]) => l.weightDtype === "bfloat16") ? "bfloat16" : "float32";
  }

  /**
   * Converts the linear layers' weights (qkv_proj, o_proj, gate_up_proj, down_proj, lm_head) and the token
   * embeddings (unless the head is tied to them) to bfloat16, rounded to nearest even (exact when they came from a BF16 checkpoint), and frees their float32 variables: about
   * half the model's memory, half the bytes per decoding step. Inference only from then on: a training forward
   * and `save` fail with an error. Returns the model.
   */
  toBf16Weights(): this {
    for (const [, layer] of this.bf16Candidates()) if (layer.weightDtype === "float32") layer.useBf16();
    return this;
  }

  /** The layers `toBf16Weights` converts: the linear layers, and the embeddings when the head is not tied to them. */
  private bf16Candidates(): ReturnType<typeof bf16Layers> {
    return bf16Layers(this).filter(([, l]) => l instanceof Linear || this.lmHead !== undefined);
  }

  get hiddenSize(): number {
    return this.config.hiddenSize;
  }

  get vocabSize(): number {
    return this.config.vocabSize;
  }

  /** An empty KV cache for this model. */
  newCache(): Phi3KVCache {
    return new Phi3KVCache(this.config.numHiddenLayers);
  }

  /** `ids [B, T]` int32 → embeddings `[B, T, D]`. */
  embed(ids: tf.Tensor2D): TokenEmbeddings {
    return this.model.embedTokens.apply(ids);
  }

  /**
   * One decoder pass. `inputIds [B, T]` int32 (or `null` with `inputsEmbeds [B, T, D]`) → logits
   * `[B, T, vocab]` (or the last `logitsToKeep` positions). `attentionMask [B, past + T]` marks real tokens
   * with 1; positions default to `cumsum(mask) - 1`, or continue after the cache. With `cache` (or
   * `useCache`), the new keys/values are appended to it and it is returned.
   */
  forward(inputIds: tf.Tensor2D | null, options: Phi3ForwardOptions = {}): LanguageModelOutput {
    const training = options.training ?? this.training;
    if (training && this.weightDtype === "bfloat16") {
      throw new Error(
        "Phi3ForCausalLM.forward: the model holds bfloat16 weights (inference only); load it in float32 to train",
      );
    }
    if (!inputIds && !options.inputsEmbeds) throw new Error("Phi3ForCausalLM.forward: give inputIds or inputsEmbeds");
    if (options.cache && !(options.cache instanceof Phi3KVCache)) {
      throw new Error("Phi3ForCausalLM.forward: cache must be a Phi3KVCache from this model (lm.newCache())");
    }
    const cache = (options.cache as Phi3KVCache | undefined) ?? (options.useCache ? this.newCache() : undefined);
    const embeds = options.inputsEmbeds;
    if (embeds && (embeds.rank !== 3 || embeds.shape[2] !== this.config.hiddenSize)) {
      throw new Error(
        `Phi3ForCausalLM.forward: inputsEmbeds must be [B, T, ${this.config.hiddenSize}], got [${embeds.shape}]`,
      );
    }
    if (inputIds && inputIds.rank !== 2)
      throw new Error(`Phi3ForCausalLM.forward: inputIds must be [B, T], got [${inputIds.shape}]`);
    const [b, t] = embeds ? [embeds.shape[0], embeds.shape[1]] : inputIds!.shape;
    if (cache && cache.length > 0 && cache.batchSize !== b) {
      throw new Error(`Phi3ForCausalLM.forward: the cache holds batch ${cache.batchSize}, the input has batch ${b}`);
    }
    const past = cache?.length ?? 0;
    const seed = options.dropoutSeed ?? deriveSeed(this.dropoutBase, "dropout", ++this.dropoutCounter);
    const logits = tf.tidy(() => {
      let h: tf.Tensor3D = embeds ?? this.embed(inputIds!);
      if (training && this.config.embdPdrop > 0)
        h = tf.dropout(h, this.config.embdPdrop, undefined, seed) as tf.Tensor3D;
      const positions = options.positionIds ?? defaultPositions(b, t, past, options.attentionMask);
      const ctx: Omit<LayerContext, "layerIndex"> = {
        rotary: this.rotary,
        tables: this.rotary.tables(positions),
        bias: attentionBias(t, past, options.attentionMask, this.config.slidingWindow),
        cache,
        training,
        seed,
      };
      this.model.layers.items.forEach((layer, i) => {
        h = layer.apply(h, { ...ctx, layerIndex: i, seed: deriveSeed(seed, "layer", i) });
      });
      const keep = options.logitsToKeep;
      if (keep !== undefined && keep < t) h = tf.slice(h, [0, t - keep, 0], [b, keep, this.config.hiddenSize]);
      h = this.model.norm.apply(h) as tf.Tensor3D;
      return (
        this.lmHead
          ? this.lmHead.forward(h, { training })
          : tf.reshape(
              tf.matMul(tf.reshape(h, [-1, this.config.hiddenSize]), this.model.embedTokens.weight, false, true),
              [b, h.shape[1], this.config.vocabSize],
            )
      ) as tf.Tensor3D;
    });
    return cache ? { logits, cache } : { logits };
  }

  /**
   * Generates up to `maxNewTokens` per prompt (greedy, or sampling with temperature / top-k / top-p and a
   * seed); prompts run as one left-padded batch. Returns the new tokens per prompt (ending with the stop
   * token when one was produced).
   */
  generate(prompts: number[][], options: Phi3GenerateOptions): Promise<number[][]> {
    return generate(this, prompts, options);
  }

  /**
   * Writes `config.json` + `model.safetensors` (reference names and layout) as the folder `dir`, sharded with
   * a `model.safetensors.index.json` above `maxShardBytes` (default 5 GB); the folder is written beside `dir`
   * and renamed into place, so an interrupted save leaves an older `dir` intact. LoRA adapters are not
   * included (merge them first, or save them with `LoRAAdapters.save`).
   */
  save(dir: string, options: { maxShardBytes?: number } = {}): Promise<void> {
    if (this.weightDtype === "bfloat16") {
      return Promise.reject(
        new Error(
          `Phi3ForCausalLM.save(${dir}): the model holds bfloat16 weights (inference only); save a float32 model`,
        ),
      );
    }
    return savePhi3Checkpoint(this, dir, options);
  }

  /** Attaches parameters that live outside the module tree (LoRA adapters) under `prefix`. @internal */
  attachExtra(prefix: string, module: Module | undefined): void {
    if (module) this.extraParameters.set(prefix, module);
    else this.extraParameters.delete(prefix);
  }

  /** The model's parameters followed by any attached adapters' (named `<layer>.lora_A.weight`, ...). */
  override namedParameters(): Array<[string, tf.Variable]> {
    const own = super.namedParameters();
    for (const [prefix, m] of this.extraParameters) {
      for (const [n, v] of m.namedParameters()) own.push([prefix + n, v]);
    }
    return own;
  }

  /** Frees the model's and attached adapters' variables. */
  override dispose(): void {
    for (const [, layer] of bf16Layers(this)) if (layer.weightDtype === "bfloat16") layer.dispose();
    super.dispose();
    for (const m of this.extraParameters.values()) m.dispose();
    this.extraParameters.clear();
  }
}

/** `[B, T]` positions: `cumsum(mask) - 1` (1 on padding) over the last `T` columns, or `past..past+T-1`. */
function defaultPositions(b: number, t: number, past: number, mask: tf.Tensor2D | undefined): tf.Tensor2D {
  return tf.tidy(() => {
    if (!mask) return tf.tile(tf.reshape(tf.range(past, past + t, 1, "int32"), [1, t]), [b, 1]) as tf.Tensor2D;
    const m = tf.cast(mask, "int32");
    const pos = tf.where(tf.greater(m, 0), tf.sub(tf.cumsum(m, 1), 1), tf.onesLike(m));
    return tf.slice(pos, [0, past], [b, t]) as tf.Tensor2D;
  });
}
