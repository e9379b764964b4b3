/**
 * `@birdvlm/core`: tensor contracts, backend selection, safetensors, named parameters, optimizers,
 * schedules, checkpoints and the training loop shared by every BirdVLM package.
 *
 * This is the Node entry: everything of the page's entry (`browser.ts`, re-exported here) plus what needs
 * Node (files, checkpoints, the Trainer, the native addon and Dawn behind `initBackend`).
 * @packageDocumentation
 */
export * from "./browser.js";
// Node's initBackend (tensorflow, native, WebGPU on Dawn, wasm, cpu) in place of the page's.
export { initBackend, currentBackend, type InitBackendOptions } from "./backends/init-backend.js";
export { nativePixelOps } from "./backends/native/load-pixel-ops.js";
export type { NativePixelOps } from "./backends/native/pixel-ops.js";
export { openSafetensors, readSafetensors } from "./io/safetensors/reader.js";
export { writeSafetensors, storeAs, type RawTensor, type TensorSource } from "./io/safetensors/writer.js";
export { type EncodableDtype } from "./io/safetensors/dtypes-encode.js";
export { openCheckpoint } from "./io/open-checkpoint.js";
// Node's model folders: a directory or a URL, in place of the page's (URLs only).
export { openModelFolder, writeModelFolder } from "./io/model-folder.js";
export {
  writeJsonAtomic,
  writeFolderAtomic,
  writeFileAtomic,
  sweepStaleTemporaries,
  namingDiskFull,
} from "./io/atomic.js";
export { writeCheckpoint, type WriteCheckpointOptions, type WrittenCheckpoint } from "./io/write-checkpoint.js";
export {
  ProgressLine,
  formatProgress,
  formatDuration,
  type ProgressState,
  type ProgressStream,
} from "./training/progress.js";
export { MetricsLog, readMetrics, type MetricsRecord } from "./training/metrics-log.js";
export {
  curvesSvg,
  renderCurves,
  curveSeries,
  niceTicks,
  type CurvesOptions,
  type CurveSeries,
} from "./training/curves.js";
export { Trainer } from "./training/trainer/trainer.js";
export type {
  TrainerOptions,
  TrainableModel,
  StepContext,
  EvalContext,
  EarlyStoppingOptions,
  StepInfo,
  StopReason,
  TrainResult,
} from "./training/trainer/options.js";
export { EpochBatches, epochRng } from "./training/trainer/batches.js";
export {
  saveTrainerCheckpoint,
  loadTrainerCheckpoint,
  latestCheckpoint,
  listCheckpoints,
  pruneCheckpoints,
  checkpointName,
  disposeCheckpoint,
  TRAINER_STATE_FORMAT,
  type TrainerState,
  type LoadedTrainerCheckpoint,
} from "./training/trainer/trainer-checkpoint.js";
export {
  EarlyStopping,
  type EarlyStoppingState,
  type EarlyStoppingVerdict,
} from "./training/trainer/early-stopping.js";
