/**
 * `@birdvlm/core`: tensor contracts, backend selection, safetensors, named parameters, optimizers,
 * schedules, checkpoints and the training loop shared by every BirdVLM package.
 * @packageDocumentation
 */
export { tf } from "./tf.js";
export * from "./contracts.js";
export { initBackend, currentBackend } from "./backends/init-backend.js";
export type { BackendName, BackendInfo } from "./backends/backend-info.js";
export { Module, transposeLast2, type ParameterOptions, type LoadStateDictOptions } from "./module.js";
export { openSafetensors, readSafetensors, type SafetensorsReader, type TensorInfo } from "./safetensors-reader.js";
export { writeSafetensors, storeAs, type RawTensor, type TensorSource } from "./safetensors-writer.js";
export { type EncodableDtype } from "./dtypes-encode.js";
export { SAFETENSORS_DTYPES, type SafetensorsDtype } from "./dtypes.js";
export { openCheckpoint } from "./checkpoint.js";
export { writeJsonAtomic, writeFolderAtomic, writeFileAtomic } from "./atomic.js";
export { Rng, type RngState } from "./rng.js";
export {
  NamedOptimizer,
  isNoDecayParameter,
  type Optimizer,
  type OptimizerStepOptions,
  type NamedTensors,
  type ParameterSource,
  type ParameterGroup,
  type BaseOptimizerOptions,
} from "./optimizer.js";
export { AdamW, type AdamWOptions } from "./adamw.js";
export { SGD, type SGDOptions } from "./sgd.js";
export { constantSchedule, warmupCosineSchedule, type Schedule, type WarmupCosineOptions } from "./schedule.js";
export { clipByGlobalNorm, globalNorm, type ClippedGradients } from "./clip.js";
export { crossEntropy, shiftedCausalLMLoss, type CrossEntropyOptions } from "./loss.js";
export { GradientAccumulator, disposeTensors } from "./accumulate.js";
export { writeCheckpoint, type WriteCheckpointOptions, type WrittenCheckpoint } from "./checkpoint-writer.js";
export { ProgressLine, formatProgress, formatDuration, type ProgressState, type ProgressStream } from "./progress.js";
export { MetricsLog, readMetrics, type MetricsRecord } from "./metrics-log.js";
export { curvesSvg, renderCurves, curveSeries, niceTicks, type CurvesOptions, type CurveSeries } from "./curves.js";
export { Trainer } from "./trainer.js";
export type {
  TrainerOptions,
  TrainableModel,
  StepContext,
  EvalContext,
  EarlyStoppingOptions,
  StepInfo,
  StopReason,
  TrainResult,
} from "./trainer-options.js";
export { EpochBatches, epochRng } from "./trainer-batches.js";
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
} from "./trainer-checkpoint.js";
export { EarlyStopping, type EarlyStoppingState, type EarlyStoppingVerdict } from "./trainer-early-stopping.js";
export { layerNorm, layerNormReference } from "./ops/layer-norm.js";
export { rmsNorm, rmsNormReference } from "./ops/rms-norm.js";
export {
  biasActivation,
  gelu,
  silu,
  linearActivation,
  activationReference,
  type Activation,
} from "./ops/bias-activation.js";
export {
  fusedAttention,
  attentionReference,
  MASKED_SCORE,
  type AttentionOptions,
  type AttentionAttrs,
} from "./ops/fused-attention.js";
export { swiglu, swigluReference } from "./ops/swiglu.js";
export { FusedKernelName, setFusedKernelsEnabled, hasFusedKernel } from "./ops/fused-kernel.js";
export { canWriteInPlace, exclusiveZeros, writePositionsInPlace } from "./backends/native/in-place.js";
export { setMatMulOverrides, matMulOverrides, type MatMulOverride } from "./backends/webgpu/matmul-choice.js";
export { webgpuErrors } from "./backends/webgpu/use-webgpu.js";
export { countReads, type ReadCounter } from "./backends/read-counter.js";
export { bf16MatMul, Bf16Weight, BF16_MATMUL_KERNEL, toBf16Bits, fromBf16Bits } from "./ops/bf16-matmul.js";
export { bf16Gather, BF16_GATHER_KERNEL } from "./ops/bf16-gather.js";
