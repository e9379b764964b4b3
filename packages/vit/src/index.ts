/**
 * `@birdvlm/vit`: a Vision Transformer that matches timm and Hugging Face ViT, loads and saves their
 * checkpoints, trains from scratch, and shows where it looks.
 *
 * This is the Node entry: everything of the page's entry (`browser.ts`, re-exported here) plus training and the
 * PNG attention overlay (sharp).
 * @packageDocumentation
 */
export * from "./browser.js";
export { renderAttentionOverlay, type OverlayImage, type OverlayOptions } from "./overlay.js";
export {
  trainClassifier,
  evaluateClassifier,
  type TrainClassifierOptions,
  type TrainClassifierResult,
  type ClassifierBatch,
  type ClassifierBatches,
  type ClassifierEvaluation,
  type EpochMetrics,
} from "./train.js";
