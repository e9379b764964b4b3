import { Linear, Module, ParameterInit, deriveSeed, tf } from "@birdvlm/core";
import type { ForwardOptions, ImageBatch, LinearInit, VisionEncoder, VisionFeatures } from "@birdvlm/core";
import { type ViTConfig, vitConfig } from "./config.js";
import type { ForwardContext } from "./forward-context.js";
import { type AnyPatchEmbed, createPatchEmbed } from "./patch-embedding.js";
import { Block, BlockList } from "./block.js";
import { LayerNorm } from "./layer-norm.js";
import { AttentionPool } from "./attention-pool.js";
import { type RolloutOptions, rollout } from "./attention-rollout.js";
import { resamplePosEmbed } from "./pos-embed.js";
import { dropout } from "./drop.js";
import { type CheckpointFormat, readViTCheckpoint, writeViTCheckpoint } from "./load.js";

/** Options of {@link VisionTransformer.load}. */
export interface LoadOptions {
  /** Build the model for this input size; the position embeddings are resampled bicubically (as timm does). */
  imageSize?: number;
  /** Overrides of training-only settings (dropout, drop-path), applied to the loaded config. */
  overrides?: Partial<Pick<ViTConfig, "dropout" | "attentionDropout" | "dropPathRate">>;
}

/** Options of {@link VisionTransformer.save}. */
export interface SaveOptions {
  /** `timm` (default) or `hf` (Hugging Face `ViTForImageClassification` / `ViTModel`). */
  format?: CheckpointFormat;
}

/** Options of the {@link VisionTransformer} constructor. */
export interface VisionTransformerOptions {
  /** Seed of the initial weights (timm's init: trunc-normal std 0.02) and of the dropout masks. Random when absent. */
  seed?: number;
  /**
   * How the linear layers (and the patch projection) start: `trunc-normal` (the default, timm's std 0.02, zero
   * biases) or `uniform` (PyTorch's own `nn.Linear`/`nn.Conv2d` init, weights and biases in ±1/√fan_in, as a
   * model built in plain PyTorch starts).
   */
  linearInit?: LinearInit;
}

/** Options of {@link VisionTransformer.forward}. */
export interface ViTForwardOptions extends ForwardOptions {
  /**
   * Source of the dropout / drop-path seeds in training (core's `Rng`, e.g. the Trainer's `ctx.rng`, so a
   * resumed run replays the same masks). Default: the model's own seeded counter.
   */
  rng?: { seed(): number };
  /** When set, each attention layer pushes its probabilities `[B, heads, T, T]` (kept) here. */
  attention?: unknown[];
  /**
   * Only the logits are wanted (training a classifier, classifying). With `cls` pooling the head reads the prefix
   * tokens alone, so the last block computes only their rows (their attention over every token, their MLP; the
   * other rows feed nothing): the same logits and gradients for most of one block's work less, and
   * `lastHiddenState` holds the prefix tokens `[B, P, D]`. Ignored where every token is needed (other pooling,
   * attention recorded, a convolutional MLP).
   */
  headOnly?: boolean;
}

/** What one full pass computes. */
export interface ViTOutput {
  /**
   * `[B, P+N, D]` after the final norm (`P` prefix tokens: class, distillation); un-normed with `fcNorm`. The
   * prefix tokens alone, `[B, P, D]`, when `headOnly` applied.
   */
  lastHiddenState: tf.Tensor3D;
  /** `[B, D]` the pooled vector fed to the head. */
  pooled: tf.Tensor2D;
  /** `[B, classes]` when the model has a head. */
  logits?: tf.Tensor2D;
  /** The patch grid `[rows, cols]`. */
  grid: [number, number];
}

// Reference: timm `timm/models/vision_transformer.py` `VisionTransformer` (transformers: `ViTModel`).
/**
 * A Vision Transformer (timm `VisionTransformer` / Hugging Face `ViTModel`): patch embedding, class token,
 * learned position embeddings, pre-norm blocks with exact GELU, final norm, pooling (`cls`, `attention`,
 * `mean`) and a linear head. Parameters carry timm's names (`blocks.0.attn.qkv.weight`); `load.ts` maps
 * other layouts. Implements `VisionEncoder`.
 */
export class VisionTransformer extends Module implements VisionEncoder {
  readonly config: ViTConfig;
  readonly cls_token?: tf.Variable;
  readonly dist_token?: tf.Variable;
  readonly pos_embed: tf.Variable;
  /** The patch embedding ({@link createPatchEmbed}): a stride-`p` convolution, a convolutional or hMLP stem, or shifted patches. */
  readonly patch_embed: AnyPatchEmbed;
  readonly blocks: BlockList;
  /** The final norm over the tokens (absent with `fcNorm`). */
  readonly norm?: LayerNorm;
  /** With `fcNorm`: the final norm, over the pooled vector. */
  readonly fc_norm?: LayerNorm;
  readonly attn_pool?: AttentionPool;
  readonly head?: Linear;
  readonly head_dist?: Linear;
  /** Base seed of the model's own dropout / drop-path seeds, and how many it has handed out. */
  private readonly dropoutSeed: number;
  private dropoutCount = 0;

  /** A model with fresh seeded weights; `config` fields left out take the ViT-Tiny defaults. */
  constructor(config: Partial<ViTConfig> = {}, options: VisionTransformerOptions = {}) {
    super();
    const c = (this.config = vitConfig(config));
    const init = new ParameterInit(options.seed, { linear: options.linearInit });
    this.dropoutSeed = init.seed;
    const grid = c.imageSize / c.patchSize;
    const prefix = (c.classToken ? 1 : 0) + (c.distillationToken ? 1 : 0);
    if (c.classToken) this.cls_token = this.registerParameter("cls_token", init.normal([1, 1, c.hiddenSize], 1e-6));
    if (c.distillationToken)
      this.dist_token = this.registerParameter("dist_token", init.truncNormal([1, 1, c.hiddenSize]));
    this.pos_embed = this.registerParameter(
      "pos_embed",
      init.truncNormal([1, (c.noEmbedClass ? 0 : prefix) + grid * grid, c.hiddenSize]),
    );
    this.patch_embed = this.registerModule("patch_embed", createPatchEmbed(c, init));
    this.blocks = this.registerModule("blocks", new BlockList());
    for (let i = 0; i < c.depth; i++) {
      const rate = c.depth > 1 ? (c.dropPathRate * i) / (c.depth - 1) : c.dropPathRate;
      this.blocks.add(
        new Block(
          {
            dim: c.hiddenSize,
            numHeads: c.numHeads,
            mlpSize: c.mlpSize,
            qkvBias: c.qkvBias,
            eps: c.layerNormEps,
            dropout: c.dropout,
            attentionDropout: c.attentionDropout,
            dropPath: rate,
            layerScaleInit: c.layerScaleInit,
            mlpConvKernel: c.mlpConvKernel,
          },
          init,
        ),
      );
    }
    if (c.fcNorm) this.fc_norm = this.registerModule("fc_norm", new LayerNorm(c.hiddenSize, c.layerNormEps, init));
    else this.norm = this.registerModule("norm", new LayerNorm(c.hiddenSize, c.layerNormEps, init));
    if (c.pooling === "attention")
      this.attn_pool = this.registerModule(
        "attn_pool",
        new AttentionPool(c.hiddenSize, c.numHeads, c.mlpSize, c.layerNormEps, c.qkvBias, init),
      );
    if (c.numClasses > 0) this.head = this.registerModule("head", new Linear(c.hiddenSize, c.numClasses, init));
    if (c.distillationHead)
      this.head_dist = this.registerModule("head_dist", new Linear(c.hiddenSize, c.numClasses, init));
  }

  get hiddenSize(): number {
    return this.config.hiddenSize;
  }
  get imageSize(): number {
    return this.config.imageSize;
  }
  get mean(): [number, number, number] {
    return this.config.mean;
  }
  get std(): [number, number, number] {
    return this.config.std;
  }
  get cropPct(): number {
    return this.config.cropPct;
  }
  /** Tokens before the patch tokens: the class token and DeiT's distillation token, when present. */
  get numPrefixTokens(): number {
    return (this.config.classToken ? 1 : 0) + (this.config.distillationToken ? 1 : 0);
  }
  /** The patch grid side of the position embeddings. */
  get grid(): number {
    return this.config.imageSize / this.config.patchSize;
  }

  private context(options: ViTForwardOptions): ForwardContext {
    const rng = options.rng;
    return {
      training: options.training ?? this.training,
      nextSeed: rng ? () => rng.seed() : () => deriveSeed(this.dropoutSeed, "dropout", ++this.dropoutCount),
      attention: options.attention,
    };
  }

  /** Position embeddings for a `gh x gw` grid: the stored ones, or resampled bicubically (timm's way). */
  positionEmbeddings(gh: number, gw: number): tf.Tensor3D {
    const g = this.grid;
    if (gh === g && gw === g) return this.pos_embed as tf.Tensor3D;
    const prefix = this.config.noEmbedClass ? 0 : this.numPrefixTokens;
    return resamplePosEmbed(this.pos_embed, [g, g], [gh, gw], {
      numPrefixTokens: prefix,
      antialias: this.config.posEmbedAntialias,
    });
  }

  /**
   * The full pass: images `[B, H, W, C]` (normalized; `H`, `W` multiples of the patch size) → final-norm tokens,
   * pooled vector, logits. No tidy inside: call it within `tf.tidy` or a gradient function.
   */
  forward(images: ImageBatch, options: ViTForwardOptions = {}): ViTOutput {
    if (images.rank !== 4)
      throw new Error(
        `VisionTransformer: expected images [B, H, W, ${this.config.numChannels}], got [${images.shape}]`,
      );
    const ctx = this.context(options);
    const c = this.config;
    const [b, h, w] = images.shape;
    const grid: [number, number] = [h / c.patchSize, w / c.patchSize];
    let x = this.patch_embed.forward(images);
    const prefix = [this.cls_token, this.dist_token].filter((t): t is tf.Variable => t !== undefined);
    const prepend = (y: tf.Tensor3D) =>
      prefix.length ? (tf.concat([...prefix.map((t) => tf.tile(t, [b, 1, 1])), y], 1) as tf.Tensor3D) : y;
    const pos = this.positionEmbeddings(grid[0], grid[1]);
    // timm adds the position embeddings after prepending the tokens, or before with `no_embed_class`.
    x = c.noEmbedClass ? prepend(tf.add(x, pos) as tf.Tensor3D) : (tf.add(prepend(x), pos) as tf.Tensor3D);
    if (ctx.training) x = dropout(x, c.dropout, ctx.nextSeed()) as tf.Tensor3D;
    ctx.tokenGrid = { rows: grid[0], cols: grid[1], prefix: prefix.length };
    const blocks = this.blocks.items;
    const lastQueries = this.prefixOnlyLastBlock(options) ? prefix.length : undefined;
    blocks.forEach((block, i) => (x = block.forward(x, ctx, i === blocks.length - 1 ? lastQueries : undefined)));
    const lastHiddenState = this.norm ? (this.norm.forward(x) as tf.Tensor3D) : x;
    const pooled = this.fc_norm
      ? (this.fc_norm.forward(this.pool(lastHiddenState, ctx)) as tf.Tensor2D)
      : this.pool(lastHiddenState, ctx);
    let logits: tf.Tensor2D | undefined;
    if (this.head)
      logits = this.head.forward(ctx.training ? dropout(pooled, c.dropout, ctx.nextSeed()) : pooled) as tf.Tensor2D;
    if (this.head_dist) {
      // DeiT: the distillation token's head, averaged with the class token's (timm and HF at inference).
      const [bb, , d] = lastHiddenState.shape;
      const distToken = tf.reshape(tf.slice(lastHiddenState, [0, 1, 0], [bb, 1, d]), [bb, d]);
      logits = tf.div(tf.add(logits!, this.head_dist.forward(distToken)), 2) as tf.Tensor2D;
    }
    return { lastHiddenState, pooled, logits, grid };
  }

  /** Whether the head reads the prefix tokens alone, so the last block may compute only their rows. */
  private prefixOnlyLastBlock(options: ViTForwardOptions): boolean {
    const c = this.config;
    return (
      options.headOnly === true &&
      c.pooling === "cls" &&
      this.numPrefixTokens > 0 &&
      !options.attention &&
      !c.mlpConvKernel
    );
  }

  private pool(tokens: tf.Tensor3D, ctx: ForwardContext): tf.Tensor2D {
    const [b, t, d] = tokens.shape;
    const p = this.numPrefixTokens;
    switch (this.config.pooling) {
      case "cls":
        return tf.reshape(tf.slice(tokens, [0, 0, 0], [b, 1, d]), [b, d]);
      case "mean":
        return tf.mean(tf.slice(tokens, [0, p, 0], [b, t - p, d]), 1) as tf.Tensor2D;
      case "attention":
        return this.attn_pool!.forward(tokens, ctx);
    }
  }

  /** `[B, H, W, C]` → features (`lastHiddenState` `[B, P+N, D]`, `cls` `[B, D]`, `patches` `[B, N, D]`); the caller disposes them. */
  encode(images: ImageBatch, options: ForwardOptions = {}): VisionFeatures {
    let grid: [number, number] = [0, 0];
    const t = tf.tidy(() => {
      const out = this.forward(images, options);
      grid = out.grid;
      const [b, n, d] = out.lastHiddenState.shape;
      const p = this.numPrefixTokens;
      return {
        lastHiddenState: out.lastHiddenState,
        cls: p ? tf.reshape(tf.slice(out.lastHiddenState, [0, 0, 0], [b, 1, d]), [b, d]) : out.pooled,
        pooled: out.pooled,
        patches: tf.slice(out.lastHiddenState, [0, p, 0], [b, n - p, d]),
      };
    });
    return {
      lastHiddenState: t.lastHiddenState as tf.Tensor3D,
      cls: t.cls as tf.Tensor2D,
      pooled: t.pooled as tf.Tensor2D,
      patches: t.patches as tf.Tensor3D,
      grid,
    };
  }

  /** `[B, H, W, C]` → logits `[B, classes]`. */
  classify(images: ImageBatch, options: ForwardOptions = {}): tf.Tensor2D {
    if (!this.head) throw new Error("VisionTransformer.classify: this model has no head (numClasses 0)");
    return tf.tidy(() => this.forward(images, { ...options, headOnly: true }).logits!);
  }

  /** Per block, the attention probabilities `[B, heads, T, T]` (row = query token); the caller disposes them. */
  attentionProbabilities(images: ImageBatch): tf.Tensor4D[] {
    const recorded: tf.Tensor4D[] = [];
    tf.tidy(() => {
      this.forward(images, { training: false, attention: recorded });
    });
    // The attention pool (if any) records last; keep the blocks only.
    tf.dispose(recorded.slice(this.config.depth));
    return recorded.slice(0, this.config.depth);
  }

  /**
   * How much the class token attends to each patch, per block and head: `[B, depth, heads, rows, cols]`.
   * Needs a class token.
   */
  attentionMaps(images: ImageBatch): tf.Tensor5D {
    if (!this.config.classToken)
      throw new Error("attentionMaps: the model has no class token; use attentionProbabilities");
    const probs = this.attentionProbabilities(images);
    try {
      return tf.tidy(() => {
        const [b, h, t] = probs[0]!.shape;
        const side = [images.shape[1] / this.config.patchSize, images.shape[2] / this.config.patchSize];
        const p0 = this.numPrefixTokens;
        const fromCls = probs.map((p) => tf.slice(p, [0, 0, 0, p0], [b, h, 1, t - p0]));
        return tf.reshape(tf.stack(fromCls, 1), [b, probs.length, h, side[0]!, side[1]!]) as tf.Tensor5D;
      });
    } finally {
      tf.dispose(probs);
    }
  }

  /**
   * Attention rollout (Abnar & Zuidema 2020): the per-block attention, heads fused and mixed with the identity
   * for the residual path, multiplied through the blocks; the class token's row over the patches, scaled so
   * each image's maximum is 1. Images `[B, H, W, C]` → heat map `[B, rows, cols]`. Needs a class token.
   */
  attentionRollout(images: ImageBatch, options: RolloutOptions = {}): tf.Tensor3D {
    if (!this.config.classToken) throw new Error("attentionRollout: the model has no class token");
    const probs = this.attentionProbabilities(images);
    try {
      const rows = images.shape[1] / this.config.patchSize;
      return rollout(probs, [rows, images.shape[2] / this.config.patchSize], this.numPrefixTokens, options);
    } finally {
      tf.dispose(probs);
    }
  }

  /**
   * Loads a checkpoint folder (`config.json` + `model.safetensors` or a sharded index) in timm or Hugging Face
   * ViT/DeiT layout: a directory in Node, or a URL (through `fetch`; the only kind in a page, which reads
   * `model.safetensors` only). Sizes come from the weights' shapes where they disagree with the config.
   */
  static async load(dir: string, options: LoadOptions = {}): Promise<VisionTransformer> {
    const ckpt = await readViTCheckpoint(dir);
    try {
      const stored = ckpt.config.imageSize / ckpt.config.patchSize;
      const config = { ...ckpt.config, ...options.overrides };
      if (options.imageSize !== undefined && options.imageSize !== config.imageSize) {
        config.imageSize = options.imageSize;
        const g = options.imageSize / config.patchSize;
        const old = ckpt.tensors["pos_embed"]!; // present: readViTCheckpoint requires it
        const prefix = config.noEmbedClass ? 0 : (config.classToken ? 1 : 0) + (config.distillationToken ? 1 : 0);
        ckpt.tensors["pos_embed"] = resamplePosEmbed(old, [stored, stored], [g, g], {
          numPrefixTokens: prefix,
          antialias: config.posEmbedAntialias,
        });
        old.dispose();
      }
      const model = new VisionTransformer(config, { seed: 0 });
      try {
        model.loadStateDict(ckpt.tensors, { source: ckpt.source });
        return model;
      } catch (e) {
        throw (model.dispose(), e); // a failed load frees what it built
      }
    } finally {
      Object.values(ckpt.tensors).forEach((t) => t.dispose());
    }
  }

  /** Writes `config.json` + `model.safetensors` in timm (default) or Hugging Face layout, atomically. */
  async save(dir: string, options: SaveOptions = {}): Promise<void> {
    const tensors = this.stateDict();
    try {
      await writeViTCheckpoint(dir, this.config, tensors, options.format ?? "timm");
    } finally {
      Object.values(tensors).forEach((t) => t.dispose());
    }
  }

  /** Parameters in timm's names and layouts (`patch_embed.proj.weight` `[D, C, p, p]`, linear weights `[out, in]`). */
  override stateDict(): Record<string, tf.Tensor> {
    const dict = super.stateDict();
    this.patch_embed.weightsToReference(dict, "patch_embed.");
    return dict;
  }

  /** Assigns tensors named and laid out as timm's; see {@link stateDict}. */
  override loadStateDict(
    tensors: Record<string, tf.Tensor>,
    options: { strict?: boolean; source?: string } = {},
  ): void {
    const flat = this.patch_embed.weightsFromReference(tensors, "patch_embed.");
    try {
      super.loadStateDict({ ...tensors, ...flat }, options);
    } finally {
      Object.values(flat).forEach((t) => t.dispose());
    }
  }
}
