/**
 * `ViTConfig`: every knob of a Vision Transformer as plain typed data with defaults, the presets, and the
 * conversions from and to the `config.json` files of timm and Hugging Face.
 */

/** How the encoder reduces its tokens to one vector for the classifier head. */
export type Pooling = "cls" | "attention" | "mean";

/** A Vision Transformer's shape and regularization. */
export interface ViTConfig {
  /** Input height and width (square); a multiple of `patchSize`. */
  imageSize: number;
  patchSize: number;
  numChannels: number;
  /**
   * Widths of a hierarchical patch embedding's stem stages (the hMLP stem, `hierarchical-patch-embed.ts`): each a
   * stride-2 `2 x 2` convolution inside the patch with a LayerNorm and GELU, before the last convolution to
   * `hiddenSize`; `[]` (the default) is the plain patch embedding. `patchSize` must be a multiple of `2^n`.
   * BirdVLM's own: timm and Hugging Face ViTs have no such stem (saved as `stem_widths` in config.json).
   */
  stemWidths: number[];
  /**
   * The stem stages' kernel: 2 (the default) for the hMLP stem above, whose stride-2 `2 x 2` convolutions stay inside
   * a patch; 3 for a convolutional stem (`conv-stem-patch-embed.ts`, Xiao et al. 2021), whose stride-2 `3 x 3`
   * convolutions with zero padding overlap across the whole image. Saved as `stem_kernel` in config.json.
   */
  stemKernel: number;
  /**
   * Shifted patch tokenization (Lee et al. 2021, `shifted-patch-embed.ts`): each patch also sees the image shifted
   * by half a patch in the four diagonal directions, through a LayerNorm before the projection. Default `false`.
   * BirdVLM's own, as `stemWidths` (saved as `shifted_patches` in config.json); not with a hierarchical stem.
   */
  shiftedPatches: boolean;
  /** Token width `D`. */
  hiddenSize: number;
  /** Number of transformer blocks. */
  depth: number;
  numHeads: number;
  /** Hidden width of each block's MLP. */
  mlpSize: number;
  /**
   * Kernel of a depthwise convolution over the token grid inside each block's MLP, between `fc1` and the GELU
   * (PVT v2's convolutional feed-forward, `mlp.dwconv`); 0 (the default) is timm's plain MLP. BirdVLM's own, as
   * `stemWidths` (saved as `mlp_conv_kernel` in config.json); an odd number.
   */
  mlpConvKernel: number;
  qkvBias: boolean;
  layerNormEps: number;
  /** Whether a learned class token is prepended to the patch tokens. */
  classToken: boolean;
  /**
   * timm's `no_embed_class`: position embeddings cover the patches only and are added before the class (and
   * distillation) tokens are prepended (DeiT III and register models).
   */
  noEmbedClass: boolean;
  /** timm's LayerScale (`init_values`): each residual branch is scaled by a learned per-channel `gamma` initialized to this; 0 = none. */
  layerScaleInit: number;
  /** DeiT's distillation token, after the class token (timm `dist_token`, HF `distillation_token`). */
  distillationToken: boolean;
  /** DeiT's second head on the distillation token (timm `head_dist`); logits are the mean of both heads. */
  distillationHead: boolean;
  /**
   * `cls`: the class token; `attention`: a learned query attending over the final tokens (timm's `map`
   * pooling, `AttentionPoolLatent`); `mean`: the average of the patch tokens.
   */
  pooling: Pooling;
  /**
   * timm's `fc_norm`: the final LayerNorm is applied to the pooled vector instead of to every token (timm's
   * default for `global_pool='avg'` models such as MAE fine-tunes); `lastHiddenState` is then un-normed.
   */
  fcNorm: boolean;
  /** Classes of the head; 0 = no head. */
  numClasses: number;
  /** Dropout after the position embeddings, attention projection and MLP (timm `drop_rate`/`proj_drop_rate`). */
  dropout: number;
  /** Dropout on the attention probabilities. */
  attentionDropout: number;
  /** Stochastic depth: rate of the last block, rising linearly from 0 at the first. */
  dropPathRate: number;
  /** Per-channel normalization (RGB, on values in [0,1]). */
  mean: [number, number, number];
  std: [number, number, number];
  /**
   * The fraction of an image's shorter side kept, centred, when evaluating (timm's `pretrained_cfg.crop_pct`); 1
   * (the default) keeps the whole square, as Hugging Face's ViT image processor does.
   */
  cropPct: number;
  /**
   * How position embeddings are resampled for another input size: `true` as timm (`resample_abs_pos_embed`,
   * antialiased bicubic), `false` as Hugging Face (`interpolate_pos_encoding`, plain bicubic).
   */
  posEmbedAntialias: boolean;
}

/** The ViT-Tiny shape (224/16, 192 wide, 12 blocks, 3 heads, MLP 768), no head, ImageNet-21k mean/std of timm. */
export const vitTiny: ViTConfig = {
  imageSize: 224,
  patchSize: 16,
  numChannels: 3,
  stemWidths: [],
  stemKernel: 2,
  shiftedPatches: false,
  hiddenSize: 192,
  depth: 12,
  numHeads: 3,
  mlpSize: 768,
  mlpConvKernel: 0,
  qkvBias: true,
  layerNormEps: 1e-6,
  classToken: true,
  noEmbedClass: false,
  layerScaleInit: 0,
  distillationToken: false,
  distillationHead: false,
  pooling: "cls",
  fcNorm: false,
  numClasses: 0,
  dropout: 0,
  attentionDropout: 0,
  dropPathRate: 0,
  mean: [0.5, 0.5, 0.5],
  std: [0.5, 0.5, 0.5],
  cropPct: 1,
  posEmbedAntialias: true,
};

/** ViT-Small: 384 wide, 12 blocks, 6 heads, MLP 1536. */
export const vitSmall: ViTConfig = { ...vitTiny, hiddenSize: 384, numHeads: 6, mlpSize: 1536 };

/** ViT-Base: 768 wide, 12 blocks, 12 heads, MLP 3072. */
export const vitBase: ViTConfig = { ...vitTiny, hiddenSize: 768, numHeads: 12, mlpSize: 3072 };

/** A full config from `overrides` on top of `base` (default {@link vitTiny}), checked. */
export function vitConfig(overrides: Partial<ViTConfig> = {}, base: ViTConfig = vitTiny): ViTConfig {
  const c: ViTConfig = { ...base, ...overrides };
  validateConfig(c);
  return c;
}

/** Throws an error naming the field when `c` cannot describe a ViT. */
export function validateConfig(c: ViTConfig, source = "ViTConfig"): void {
  const positive = ["imageSize", "patchSize", "numChannels", "hiddenSize", "numHeads", "mlpSize"] as const;
  for (const k of positive) {
    if (!Number.isInteger(c[k]) || c[k] <= 0)
      throw new Error(`${source}: ${k} must be a positive integer, got ${c[k]}`);
  }
  if (!Number.isInteger(c.depth) || c.depth < 0)
    throw new Error(`${source}: depth must be an integer ≥ 0, got ${c.depth}`);
  if (!Number.isInteger(c.numClasses) || c.numClasses < 0)
    throw new Error(`${source}: numClasses must be an integer ≥ 0, got ${c.numClasses}`);
  if (!Array.isArray(c.stemWidths) || !c.stemWidths.every((w) => Number.isInteger(w) && w > 0))
    throw new Error(`${source}: stemWidths must be a list of positive integers, got ${JSON.stringify(c.stemWidths)}`);
  if (c.patchSize % 2 ** c.stemWidths.length !== 0)
    throw new Error(
      `${source}: patchSize ${c.patchSize} is not a multiple of 2^${c.stemWidths.length} (one halving per stem stage)`,
    );
  if (c.stemKernel !== 2 && c.stemKernel !== 3)
    throw new Error(`${source}: stemKernel must be 2 (hMLP stem) or 3 (convolutional stem), got ${c.stemKernel}`);
  if (c.stemKernel === 3 && c.stemWidths.length === 0)
    throw new Error(`${source}: stemKernel 3 (a convolutional stem) needs stemWidths, one width per stage`);
  if (typeof c.shiftedPatches !== "boolean")
    throw new Error(`${source}: shiftedPatches must be true or false, got ${JSON.stringify(c.shiftedPatches)}`);
  if (c.shiftedPatches && (c.stemWidths.length > 0 || c.patchSize < 2))
    throw new Error(`${source}: shiftedPatches needs a plain patch embedding (no stemWidths) and patchSize ≥ 2`);
  if (!Number.isInteger(c.mlpConvKernel) || c.mlpConvKernel < 0 || (c.mlpConvKernel > 0 && c.mlpConvKernel % 2 === 0))
    throw new Error(`${source}: mlpConvKernel must be 0 (a plain MLP) or an odd kernel size, got ${c.mlpConvKernel}`);
  if (c.imageSize % c.patchSize !== 0)
    throw new Error(`${source}: imageSize ${c.imageSize} is not a multiple of patchSize ${c.patchSize}`);
  if (c.hiddenSize % c.numHeads !== 0)
    throw new Error(`${source}: hiddenSize ${c.hiddenSize} is not divisible by numHeads ${c.numHeads}`);
  if (!["cls", "attention", "mean"].includes(c.pooling))
    throw new Error(`${source}: pooling must be cls, attention or mean, got ${c.pooling}`);
  if (c.pooling === "cls" && !c.classToken) throw new Error(`${source}: pooling 'cls' needs classToken: true`);
  if (c.distillationToken && !c.classToken) throw new Error(`${source}: distillationToken needs classToken: true`);
  if (c.distillationHead && !(c.distillationToken && c.numClasses > 0 && c.pooling === "cls")) {
    throw new Error(`${source}: distillationHead needs distillationToken, numClasses > 0 and pooling 'cls'`);
  }
  for (const k of ["dropout", "attentionDropout", "dropPathRate"] as const) {
    if (!(c[k] >= 0 && c[k] < 1)) throw new Error(`${source}: ${k} must be in [0, 1), got ${c[k]}`);
  }
  if (!(c.cropPct > 0 && c.cropPct <= 1)) throw new Error(`${source}: cropPct must be in (0, 1], got ${c.cropPct}`);
  if (!(c.layerScaleInit >= 0)) throw new Error(`${source}: layerScaleInit must be ≥ 0, got ${c.layerScaleInit}`);
  if (!(c.layerNormEps > 0)) throw new Error(`${source}: layerNormEps must be > 0, got ${c.layerNormEps}`);
}

/** Shapes that a checkpoint's tensors reveal; they win over the names and numbers of a config.json. */
export interface WeightsInfo {
  hiddenSize?: number;
  depth?: number;
  patchSize?: number;
  numChannels?: number;
  /** Widths of the hierarchical stem's stages (`patch_embed.stem.{i}.proj.weight`). */
  stemWidths?: number[];
  /** The stem stages' kernel side (2: hMLP, 3: convolutional), from `patch_embed.stem.0.proj.weight`. */
  stemKernel?: number;
  /** The patch embedding has shifted patch tokenization's norm (`patch_embed.norm.weight`). */
  shiftedPatches?: boolean;
  mlpSize?: number;
  /** Kernel of the MLPs' depthwise convolution (`blocks.0.mlp.dwconv.weight`), 0 when there is none. */
  mlpConvKernel?: number;
  numClasses?: number;
  /** Patch grid side of the stored position embeddings (so `imageSize = grid * patchSize`). */
  grid?: number;
  classToken?: boolean;
  distillationToken?: boolean;
  distillationHead?: boolean;
  fcNorm?: boolean;
  noEmbedClass?: boolean;
  /** The blocks carry LayerScale `gamma`s. */
  layerScale?: boolean;
  qkvBias?: boolean;
  attentionPool?: boolean;
}

const timmArchitectures: Record<string, Partial<ViTConfig>> = {
  tiny: { hiddenSize: 192, numHeads: 3, mlpSize: 768, depth: 12 },
  small: { hiddenSize: 384, numHeads: 6, mlpSize: 1536, depth: 12 },
  base: { hiddenSize: 768, numHeads: 12, mlpSize: 3072, depth: 12 },
  large: { hiddenSize: 1024, numHeads: 16, mlpSize: 4096, depth: 24 },
};

/** A parsed `config.json`. */
export type Json = Record<string, unknown>;

function num(v: unknown): number | undefined {
  return typeof v === "number" && Number.isFinite(v) ? v : undefined;
}

function widths(v: unknown): number[] | undefined {
  return Array.isArray(v) && v.every((x) => typeof x === "number") ? (v as number[]) : undefined;
}

function triple(v: unknown): [number, number, number] | undefined {
  return Array.isArray(v) && v.length === 3 && v.every((x) => typeof x === "number")
    ? (v as [number, number, number])
    : undefined;
}

function applyWeights(c: ViTConfig, w: WeightsInfo): ViTConfig {
  const out = { ...c };
  for (const k of [
    "hiddenSize",
    "depth",
    "patchSize",
    "numChannels",
    "stemWidths",
    "stemKernel",
    "shiftedPatches",
    "mlpSize",
    "mlpConvKernel",
    "numClasses",
    "classToken",
    "distillationToken",
    "distillationHead",
    "fcNorm",
    "noEmbedClass",
    "qkvBias",
  ] as const) {
    if (w[k] !== undefined) (out as Record<string, unknown>)[k] = w[k];
  }
  if (w.grid !== undefined) out.imageSize = w.grid * out.patchSize;
  if (w.attentionPool) out.pooling = "attention";
  if (w.layerScale === false) out.layerScaleInit = 0;
  if (w.layerScale && !(out.layerScaleInit > 0)) out.layerScaleInit = 1e-5;
  if (!out.classToken && out.pooling === "cls") out.pooling = "mean";
  return out;
}

/**
 * A config from a timm `config.json`: a hub file (`architecture` such as `vit_tiny_patch16_224`,
 * `num_classes`, `global_pool`, `pretrained_cfg` with `input_size`, `mean`, `std`, optional `model_args`) or
 * one with explicit sizes (`embed_dim`, `depth`, `num_heads`, `mlp_ratio`, `layer_norm_eps`, ...).
 * Where the config and `weights` disagree, the weights' shapes win.
 */
export function fromTimm(json: Json, weights: WeightsInfo = {}, source = "timm config.json"): ViTConfig {
  const pre = (json.pretrained_cfg ?? {}) as Json;
  const args = { ...((json.model_args ?? {}) as Json), ...json };
  const arch = typeof json.architecture === "string" ? json.architecture : "";
  const m = /(?:vit|deit|deit3)_(tiny|small|medium|base|large)(?:_distilled)?_patch(\d+)_(\d+)/.exec(arch);
  const deit3 = arch.startsWith("deit3_");
  const distilled = /^deit_.*_distilled_/.test(arch);
  const fromName: Partial<ViTConfig> = m
    ? { ...timmArchitectures[m[1]!], patchSize: Number(m[2]), imageSize: Number(m[3]) }
    : {};
  const inputSize = Array.isArray(pre.input_size) ? num(pre.input_size[pre.input_size.length - 1]) : undefined;
  const imgSize = Array.isArray(args.img_size) ? num(args.img_size[0]) : num(args.img_size);
  const hidden = num(args.embed_dim) ?? fromName.hiddenSize ?? vitTiny.hiddenSize;
  const mlpRatio = num(args.mlp_ratio);
  const pool = args.global_pool;
  const classToken =
    typeof args.class_token === "boolean" ? args.class_token : pool !== "map" || args.class_token !== false;
  const c: ViTConfig = {
    ...vitTiny,
    ...fromName,
    imageSize: imgSize ?? inputSize ?? fromName.imageSize ?? vitTiny.imageSize,
    patchSize: num(args.patch_size) ?? fromName.patchSize ?? vitTiny.patchSize,
    numChannels: num(args.in_chans) ?? vitTiny.numChannels,
    stemWidths: widths(json.stem_widths) ?? [],
    stemKernel: num(json.stem_kernel) ?? 2,
    shiftedPatches: json.shifted_patches === true,
    mlpConvKernel: num(json.mlp_conv_kernel) ?? 0,
    hiddenSize: hidden,
    depth: num(args.depth) ?? fromName.depth ?? vitTiny.depth,
    numHeads: num(args.num_heads) ?? fromName.numHeads ?? vitTiny.numHeads,
    mlpSize: mlpRatio !== undefined ? Math.round(hidden * mlpRatio) : (fromName.mlpSize ?? hidden * 4),
    qkvBias: typeof args.qkv_bias === "boolean" ? args.qkv_bias : true,
    layerNormEps: num(args.layer_norm_eps) ?? 1e-6,
    classToken,
    noEmbedClass: typeof args.no_embed_class === "boolean" ? args.no_embed_class : deit3,
    layerScaleInit: num(args.init_values) ?? (deit3 ? 1e-6 : 0),
    distillationToken: distilled,
    distillationHead: distilled && (num(args.num_classes) ?? num(pre.num_classes) ?? 0) > 0,
    pooling: pool === "map" ? "attention" : pool === "avg" ? "mean" : classToken ? "cls" : "mean",
    fcNorm: typeof args.fc_norm === "boolean" ? args.fc_norm : pool === "avg",
    numClasses: num(args.num_classes) ?? num(pre.num_classes) ?? 0,
    dropout: num(args.drop_rate) ?? 0,
    attentionDropout: num(args.attn_drop_rate) ?? 0,
    dropPathRate: num(args.drop_path_rate) ?? 0,
    mean: triple(args.mean) ?? triple(pre.mean) ?? vitTiny.mean,
    std: triple(args.std) ?? triple(pre.std) ?? vitTiny.std,
    cropPct: num(pre.crop_pct) ?? 1,
    posEmbedAntialias: true,
  };
  const out = applyWeights(c, weights);
  validateConfig(out, source);
  return out;
}

/**
 * A config from a Hugging Face `ViTConfig` / `DeiTConfig` `config.json` (`hidden_size`,
 * `num_hidden_layers`, `num_attention_heads`, `intermediate_size`, `image_size`, `patch_size`,
 * `layer_norm_eps` (default 1e-12), `qkv_bias`, `num_labels` or `id2label`). HF's `gelu` is the exact erf GELU.
 */
export function fromHF(json: Json, weights: WeightsInfo = {}, source = "Hugging Face config.json"): ViTConfig {
  const act = json.hidden_act ?? "gelu";
  if (act !== "gelu") throw new Error(`${source}: hidden_act '${String(act)}' is not supported (only exact 'gelu')`);
  const id2label = json.id2label as Json | undefined;
  const archs = Array.isArray(json.architectures) ? (json.architectures as string[]) : [];
  const hasHead = archs.some((a) => /ForImageClassification(?:WithTeacher)?$/.test(a));
  const deit = json.model_type === "deit";
  const labels = num(json.num_labels) ?? (id2label ? Object.keys(id2label).length : undefined);
  const c: ViTConfig = {
    ...vitTiny,
    imageSize: num(json.image_size) ?? 224,
    patchSize: num(json.patch_size) ?? 16,
    numChannels: num(json.num_channels) ?? 3,
    hiddenSize: num(json.hidden_size) ?? 768,
    depth: num(json.num_hidden_layers) ?? 12,
    numHeads: num(json.num_attention_heads) ?? 12,
    mlpSize: num(json.intermediate_size) ?? 3072,
    qkvBias: typeof json.qkv_bias === "boolean" ? json.qkv_bias : true,
    layerNormEps: num(json.layer_norm_eps) ?? 1e-12,
    classToken: true,
    noEmbedClass: false,
    layerScaleInit: 0,
    distillationToken: deit,
    distillationHead: deit && archs.some((a) => a.endsWith("WithTeacher")),
    pooling: "cls",
    fcNorm: false,
    numClasses: hasHead || weights.numClasses !== undefined ? (labels ?? 2) : 0,
    dropout: num(json.hidden_dropout_prob) ?? 0,
    attentionDropout: num(json.attention_probs_dropout_prob) ?? 0,
    dropPathRate: 0,
    mean: triple(json.image_mean) ?? [0.5, 0.5, 0.5],
    std: triple(json.image_std) ?? [0.5, 0.5, 0.5],
    cropPct: 1,
    posEmbedAntialias: false,
  };
  const out = applyWeights(c, weights);
  validateConfig(out, source);
  return out;
}
