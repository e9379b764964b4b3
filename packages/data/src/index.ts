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
export { BirdQA, type BirdEvidence, type BirdQAKind, type BirdQAMeta, type BirdQAOptions, type BirdQAPair, type BirdQARecord } from "./bird-qa.js";
export { CubFacts, NABirdsFacts, type BirdFact, type FactThresholds } from "./bird-facts.js";
export { attributeQuestions, attributeValuePhrase, attributeYesNoQuestion } from "./attribute-phrases.js";
export { deriveSeed, rngFor } from "./seed.js";
