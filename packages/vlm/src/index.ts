/**
 * `@birdvlm/vlm`: BirdVLM — a vision encoder, a connector and a causal language model composed into a model that
 * answers questions about bird images; its two training stages, evaluation with provenance checks, and the
 * `birdvlm` command line.
 * @packageDocumentation
 */
export { BirdVLM, type BirdVLMParts, type AskOptions, type PaddedIds } from "./birdvlm.js";
export { IMAGE_MARKER_CANDIDATES, LLAVA_IMAGE_PLACEHOLDER, resolveImageMarker, insertImageMarkers, checkMarkerCount, type ImageMarker } from "./image-marker.js";
export { mergeImageEmbeddings } from "./merge-embeddings.js";
export { IGNORE_INDEX, labelConversation, supervisedShare, type LabeledSequence } from "./labels.js";
export { toImageBatch, type ImageInput, type ImagePreprocessing } from "./image-input.js";
