/** `ViTConfig` written back as the `config.json` of timm or Hugging Face (the readers are in `config.ts`). */
import type { Json, ViTConfig } from "./config.js";

/** A timm hub `config.json` (with `model_args`, so `timm.create_model('hf-hub:...')` rebuilds this exact shape). */
export function toTimmJson(c: ViTConfig): Json {
  const pool = c.pooling === "attention" ? "map" : c.pooling === "mean" ? "avg" : "token";
  const size =
    c.hiddenSize === 192 ? "tiny" : c.hiddenSize === 384 ? "small" : c.hiddenSize === 768 ? "base" : "custom";
  const arch = c.distillationToken
    ? `deit_${size}_distilled_patch${c.patchSize}_${c.imageSize}`
    : `vit_${size}_patch${c.patchSize}_${c.imageSize}`;
  return {
    architecture: arch,
    ...(c.stemWidths.length ? { stem_widths: c.stemWidths } : {}),
    ...(c.stemWidths.length && c.stemKernel === 3 ? { stem_kernel: 3 } : {}),
    ...(c.shiftedPatches ? { shifted_patches: true } : {}),
    ...(c.mlpConvKernel ? { mlp_conv_kernel: c.mlpConvKernel } : {}),
    num_classes: c.numClasses,
    num_features: c.hiddenSize,
    global_pool: pool,
    model_args: {
      img_size: c.imageSize,
      patch_size: c.patchSize,
      in_chans: c.numChannels,
      embed_dim: c.hiddenSize,
      depth: c.depth,
      num_heads: c.numHeads,
      mlp_ratio: c.mlpSize / c.hiddenSize,
      qkv_bias: c.qkvBias,
      class_token: c.classToken,
      no_embed_class: c.noEmbedClass,
      init_values: c.layerScaleInit > 0 ? c.layerScaleInit : null,
      global_pool: pool,
      fc_norm: c.fcNorm,
      num_classes: c.numClasses,
      drop_rate: c.dropout,
      attn_drop_rate: c.attentionDropout,
      drop_path_rate: c.dropPathRate,
    },
    layer_norm_eps: c.layerNormEps,
    pretrained_cfg: {
      input_size: [c.numChannels, c.imageSize, c.imageSize],
      interpolation: "bicubic",
      mean: c.mean,
      std: c.std,
      crop_pct: c.cropPct,
      num_classes: c.numClasses,
      first_conv: "patch_embed.proj",
      classifier: "head",
    },
  };
}

/** A Hugging Face `ViTConfig` `config.json` (`ViTForImageClassification` when there is a head, else `ViTModel`). */
export function toHFJson(c: ViTConfig): Json {
  if (c.noEmbedClass || c.layerScaleInit > 0)
    throw new Error(
      "toHFJson: Hugging Face ViT has neither no_embed_class nor LayerScale; save this model in timm format",
    );
  if (c.stemWidths.length)
    throw new Error("toHFJson: Hugging Face ViT has no hierarchical stem (stemWidths); save this model in timm format");
  if (c.shiftedPatches)
    throw new Error("toHFJson: Hugging Face ViT has no shifted patch tokenization; save this model in timm format");
  if (c.mlpConvKernel)
    throw new Error(
      "toHFJson: Hugging Face ViT has no convolutional MLP (mlpConvKernel); save this model in timm format",
    );
  if (!c.classToken || c.pooling !== "cls" || c.fcNorm) {
    throw new Error(
      `toHFJson: Hugging Face ViT has a class token, class-token pooling and a final norm over the tokens; this config has pooling '${c.pooling}', classToken ${c.classToken}, fcNorm ${c.fcNorm}`,
    );
  }
  const family = c.distillationToken ? "DeiT" : "ViT";
  const head = c.distillationHead ? "ForImageClassificationWithTeacher" : "ForImageClassification";
  const json: Json = {
    architectures: [c.numClasses > 0 ? `${family}${head}` : `${family}Model`],
    model_type: c.distillationToken ? "deit" : "vit",
    hidden_size: c.hiddenSize,
    num_hidden_layers: c.depth,
    num_attention_heads: c.numHeads,
    intermediate_size: c.mlpSize,
    hidden_act: "gelu",
    hidden_dropout_prob: c.dropout,
    attention_probs_dropout_prob: c.attentionDropout,
    image_size: c.imageSize,
    patch_size: c.patchSize,
    num_channels: c.numChannels,
    layer_norm_eps: c.layerNormEps,
    qkv_bias: c.qkvBias,
    image_mean: c.mean,
    image_std: c.std,
  };
  if (c.numClasses > 0) {
    json.num_labels = c.numClasses;
    json.id2label = Object.fromEntries(Array.from({ length: c.numClasses }, (_, i) => [String(i), `LABEL_${i}`]));
    json.label2id = Object.fromEntries(Array.from({ length: c.numClasses }, (_, i) => [`LABEL_${i}`, i]));
  }
  return json;
}
