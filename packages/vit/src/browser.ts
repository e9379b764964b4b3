/**
 * `@birdvlm/vit` in a web page (the `browser` export condition): the Vision Transformer, its configs and
 * checkpoints (`VisionTransformer.load(url)` through `fetch`), attention maps and the canvas overlay, and the
 * pixel preprocessing. Training and the PNG overlay (sharp) are Node's (`index.ts`, which re-exports all of this).
 * @packageDocumentation
 */
export {
  type ViTConfig,
  type Pooling,
  type WeightsInfo,
  type Json,
  vitTiny,
  vitSmall,
  vitBase,
  vitConfig,
  validateConfig,
  fromTimm,
  fromHF,
} from "./config.js";
export { toTimmJson, toHFJson } from "./config-export.js";
export { type RolloutOptions } from "./attention-rollout.js";
export {
  VisionTransformer,
  type VisionTransformerOptions,
  type ViTOutput,
  type ViTForwardOptions,
  type LoadOptions,
  type SaveOptions,
} from "./vision-transformer.js";
export {
  type CheckpointFormat,
  type ViTCheckpoint,
  readViTCheckpoint,
  writeViTCheckpoint,
  weightsInfo,
  HF_BLOCK_NAMES,
  HF_TOP_NAMES,
  HF_HEAD_NAMES,
  HF_DEIT_TEACHER_HEAD_NAMES,
  HF5_BLOCK_NAMES,
  type HFBlockNaming,
} from "./load.js";
export { resamplePosEmbed, bicubicWeights, type ResampleOptions } from "./pos-embed.js";
export { PatchEmbed } from "./patch-embed.js";
export { HierarchicalPatchEmbed } from "./hierarchical-patch-embed.js";
export { StemPatchEmbed, StemStage, StemStages } from "./stem-patch-embed.js";
export { ShiftedPatchEmbed } from "./shifted-patch-embed.js";
export { ConvStemPatchEmbed } from "./conv-stem-patch-embed.js";
export { Block, BlockList, LayerScale, type BlockOptions } from "./block.js";
export { Attention } from "./attention.js";
export { AttentionPool } from "./attention-pool.js";
export { Mlp } from "./mlp.js";
export { TokenDepthwiseConv } from "./token-depthwise-conv.js";
export { LayerNorm } from "./layer-norm.js";
export type { ForwardContext, TokenGrid } from "./forward-context.js";
export {
  mixBatch,
  randomErasing,
  sampleBeta,
  softTargetCrossEntropy,
  type MixedBatch,
  type MixOptions,
  type RandomErasingOptions,
} from "./batch-augment.js";
export { WeightEma } from "./ema.js";
export { jet, blendHeatmap, drawAttentionOverlay, type PhotoPixels, type Canvas2DLike } from "./heatmap.js";
export { pixelsToImageBatch, type PixelPreprocessing } from "./image-processing.js";
