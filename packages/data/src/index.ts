/**
 * `@birdvlm/data`: CUB-200-2011, NABirds and LLaVA loaders, bird questions and answers, the sharp image
 * pipeline, the prefetching data loader and SynthBirds.
 * @packageDocumentation
 */
export { DataFormatError } from "./data-format-error.js";
export { type CubAttribute, parseCubAttributeName, readableCubClassName } from "./cub-attribute.js";
export {
  CubDataset,
  type BoundingBox,
  type CubClass,
  type CubClassAttributeValue,
  type CubImage,
  type CubImageAttributeLabel,
  type CubOpenOptions,
  type CubPart,
  type CubPartLocation,
} from "./cub-dataset.js";
export { NABirdsDataset, type NABirdsClass, type NABirdsImage, type NABirdsOpenOptions } from "./nabirds-dataset.js";
export {
  IMAGE_PLACEHOLDER,
  readLlavaConversations,
  validateLlavaRecord,
  writeLlavaConversations,
  type LlavaRecord,
  type LlavaTurn,
  type ReadLlavaOptions,
  type WriteLlavaOptions,
} from "./llava.js";
export {
  BirdQA,
  type BirdEvidence,
  type BirdQAKind,
  type BirdQAMeta,
  type BirdQAOptions,
  type BirdQAPair,
  type BirdQARecord,
} from "./bird-qa.js";
export { CubFacts, NABirdsFacts, type BirdFact, type FactThresholds } from "./bird-facts.js";
export { attributeQuestions, attributeValuePhrase, attributeYesNoQuestion } from "./attribute-phrases.js";
export { deriveSeed, rngFor } from "@birdvlm/core";
export { stratifiedSplit } from "./stratified-split.js";
export {
  MAX_IMAGE_BYTES,
  checkRegularFile,
  escapingPathReason,
  readRegularFile,
  resolveListedPath,
} from "./listed-path.js";
export { findJsonSyntaxError, type JsonSyntaxError } from "./json-syntax.js";
export {
  DEFAULT_CROP_PCT,
  IMAGENET_MEAN,
  IMAGENET_STD,
  ImagePipeline,
  type AugmentationRecord,
  type ImagePipelineOptions,
  type ImageSource,
} from "./image-pipeline.js";
export {
  colorJitterTransform,
  sampleColorJitter,
  type ColorJitterOptions,
  type ColorJitterSample,
  type ColorTransform,
} from "./color-jitter.js";
export { boxWithMargin, centerCropRegion, randomResizedCropRegion, type Region } from "./crop-geometry.js";
export {
  DataLoader,
  type DataLoaderOptions,
  type IndexedDataset,
  type SkippedItem,
  type TransformContext,
} from "./data-loader.js";
export {
  createImageLoader,
  type ImageLoaderBatch,
  type ImageLoaderOptions,
  type LabelledImage,
} from "./image-loader.js";
export { generateSynthBirds, type SynthBirdsOptions, type SynthBirdsSummary } from "./synth-birds.js";
export {
  SYNTH_COLORS,
  designSynthSpecies,
  type SynthBill,
  type SynthBreastPattern,
  type SynthColor,
  type SynthSize,
  type SynthSpecies,
  type SynthWingPattern,
} from "./synth-species.js";
export { CUB_PART_NAMES, drawSynthBird, type DrawnBird } from "./synth-bird-svg.js";
export { PixelCache, type PixelCacheOptions, type PixelCacheSource } from "./pixel-cache.js";
export {
  augmentInto,
  augmentScratch,
  type AugmentScratch,
  type CropAugmentation,
  type RgbPixels,
} from "./uint8-augment.js";
export {
  createCachedImageLoader,
  type CachedAugmentOptions,
  type CachedImageLoaderOptions,
  type CachedSample,
} from "./cached-image-loader.js";
export { augmentBatchNative, type PixelsToAugment } from "./native-augment.js";
