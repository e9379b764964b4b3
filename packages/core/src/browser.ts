/**
 * `@birdvlm/core` in a web page (the `browser` export condition): tensor contracts, backend selection
 * (WebGPU, wasm, cpu), safetensors from bytes, named parameters, the layers, ops and optimizers. No Node
 * built-ins: files, checkpoints, the Trainer, the native addon and Dawn are Node's (`index.ts`, which
 * re-exports all of this).
 * @packageDocumentation
 */
export { tf } from "./tf.js";
export * from "./model/contracts.js";
export { initBackend, currentBackend, type InitBackendOptions } from "./backends/init-backend-browser.js";
export type { BackendName, BackendInfo } from "./backends/backend-info.js";
export { Module, transposeLast2, type ParameterOptions, type LoadStateDictOptions } from "./model/module.js";
export {
  openSafetensorsSource,
  safetensorsFromBytes,
  readAllTensors,
  type ByteSource,
  type SafetensorsReader,
  type TensorInfo,
} from "./io/safetensors/source-reader.js";
export { SAFETENSORS_DTYPES, type SafetensorsDtype } from "./io/safetensors/dtypes.js";
export {
  openModelFolder,
  writeModelFolder,
  fetchModelFolder,
  isUrl,
  type ModelFolder,
  type ModelFolderFiles,
} from "./io/model-folder-url.js";
export { Rng, type RngState } from "./random/rng.js";
export { deriveSeed, rngFor } from "./random/derive-seed.js";
export { ParameterInit, type InitMode, type LinearInit, type ParameterInitOptions } from "./model/parameter-init.js";
export { Bf16WeightSlot, type WeightDtype } from "./model/bf16-weight-slot.js";
export {
  Linear,
  type LinearWithBias,
  type LinearDelta,
  type LinearOptions,
  type LinearForwardOptions,
} from "./model/linear.js";
export {
  NamedOptimizer,
  isNoDecayParameter,
  type Optimizer,
  type OptimizerStepOptions,
  type NamedTensors,
  type ParameterSource,
  type ParameterGroup,
  type BaseOptimizerOptions,
} from "./training/optimizers/optimizer.js";
export { AdamW, type AdamWOptions } from "./training/optimizers/adamw.js";
export { SGD, type SGDOptions } from "./training/optimizers/sgd.js";
export {
  constantSchedule,
  warmupCosineSchedule,
  type Schedule,
  type WarmupCosineOptions,
} from "./training/schedule.js";
export { clipByGlobalNorm, globalNorm, type ClippedGradients } from "./training/optimizers/clip.js";
export { crossEntropy, shiftedCausalLMLoss, type CrossEntropyOptions } from "./training/loss.js";
export { GradientAccumulator, disposeTensors } from "./training/optimizers/accumulate.js";
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
  qkvAttention,
  attentionReference,
  MASKED_SCORE,
  type AttentionOptions,
  type AttentionAttrs,
} from "./ops/fused-attention.js";
export { swiglu, swigluReference } from "./ops/swiglu.js";
export { FusedKernelName, setFusedKernelsEnabled, hasFusedKernel } from "./ops/fused-kernel.js";
export { canWriteInPlace, exclusiveZeros, writePositionsInPlace } from "./backends/native/in-place.js";
export { setMatMulOverrides, matMulOverrides, type MatMulOverride } from "./backends/webgpu/matmul-choice.js";
export { webgpuErrors } from "./backends/webgpu/activate.js";
export { countReads, type ReadCounter } from "./backends/read-counter.js";
export { bf16MatMul, Bf16Weight, BF16_MATMUL_KERNEL, toBf16Bits, fromBf16Bits } from "./ops/bf16-matmul.js";
export { bf16Gather, BF16_GATHER_KERNEL } from "./ops/bf16-gather.js";
