/**
 * `@birdvlm/vlm`: BirdVLM — a vision encoder, a connector and a causal language model composed into a model that
 * answers questions about bird images; its two training stages, evaluation with provenance checks, and the
 * `birdvlm` command line.
 * @packageDocumentation
 */
export { BirdVLM, saveBirdVLM, loadBirdVLM, type BirdVLMParts, type AskOptions, type PaddedIds } from "./birdvlm.js";
export {
  IMAGE_MARKER_CANDIDATES,
  LLAVA_IMAGE_PLACEHOLDER,
  resolveImageMarker,
  insertImageMarkers,
  checkMarkerCount,
  type ImageMarker,
} from "./image-marker.js";
export { mergeImageEmbeddings } from "./merge-embeddings.js";
export { IGNORE_INDEX, labelConversation, supervisedShare, type LabeledSequence } from "./labels.js";
export { collate, type CollatedBatch } from "./collate.js";
export {
  toImageBatch,
  evalPipeline,
  parseBoundingBox,
  type ImageInput,
  type ImagePreprocessing,
} from "./image-input.js";
export { ImageTable } from "./image-table.js";
export { LossWatch } from "./loss-watch.js";
export {
  trainStage,
  labelExamples,
  withImageMarkers,
  type VlmExample,
  type StageName,
  type StageOptions,
  type StageResult,
  type AnswerSampler,
  type BatchAugment,
  type UniformSource,
} from "./train-stage.js";
export {
  SpeciesDistillation,
  speciesBeliefs,
  drawIndex,
  type ImageClassifier,
  type SpeciesDistillationOptions,
  type SpeciesBeliefOptions,
} from "./species-distillation.js";
export { randomCropFlip, type RandomCropFlipOptions } from "./random-crop-flip.js";
export {
  emptyProvenance,
  recordTraining,
  overlapByPart,
  fingerprintFiles,
  readProvenanceFile,
  type Provenance,
  type PartName,
  type TrainingRecord,
} from "./provenance.js";
export {
  evaluate,
  rankAnswers,
  type EvalSet,
  type EvalItem,
  type EvaluateOptions,
  type EvalReport,
} from "./evaluate.js";
export { normalizeText, containsWords, speciesInAnswer } from "./species-match.js";
export {
  confusionPng,
  confusionMatrixPng,
  confusionMatrixSvg,
  confusedPairsPng,
  confusedPairsSvg,
  type ConfusionPngOptions,
} from "./confusion-png.js";
export {
  majorityAnswers,
  answerIsRight,
  mostConfusedPairs,
  formatEvalSummary,
  QuestionTypeTally,
  type TypedAnswer,
  type QuestionTypeScore,
  type ConfusedPair,
  type SummaryInput,
} from "./report-summary.js";
export {
  readBirdVLMFolder,
  writeBirdVLMFolder,
  checksumWeights,
  type BirdVLMFolder,
  type BirdVLMFolderConfig,
  type LoadBirdVLMOptions,
} from "./model-folder.js";
export {
  loadBirdTasks,
  loadNABirdsTasks,
  toExample,
  type BirdTasks,
  type BirdTaskSet,
  type NABirdsTasks,
  type BirdTaskOptions,
} from "./bird-tasks.js";
export {
  trainEncoderClassifier,
  classifierAccuracy,
  encoderTrainingOf,
  type EncoderTrainingOptions,
} from "./train-encoder.js";
export { runDemo, type DemoOptions, type DemoResult } from "./demo.js";
export {
  loadRecipe,
  parseRecipe,
  listRecipes,
  vitConfigOf,
  RECIPE_SCHEMA,
  RECIPES_DIR,
  type Recipe,
  type EncoderRecipe,
  type TrainingRecipe,
  type AugmentationRecipe,
  type StageRecipe,
  type VlmRecipe,
} from "./recipe.js";
export { applySchema, SchemaError, type Schema, type FieldSchema } from "./recipe-schema.js";
export {
  trainVitOnCub,
  testLine,
  type TrainVitOnCubOptions,
  type TrainVitOnCubResult,
  type TrainVitOverrides,
} from "./train-vit-run.js";
