/**
 * How a BirdVLM op reaches a fused kernel: by its kernel name, when the active backend registered one
 * (the WGSL kernels of `webgpu`, the addon's kernels of `native`); every other backend runs the op's plain
 * TF.js composition.
 */
import { tf } from "../tf.js";
import { envVar } from "../environment.js";

/** Kernel names of BirdVLM's fused ops (registered for `webgpu` by `useWebGPU`, for `native` by `useNative`). */
export const FusedKernelName = {
  layerNorm: "BirdVLMLayerNorm",
  rmsNorm: "BirdVLMRmsNorm",
  biasActivation: "BirdVLMBiasActivation",
  swiglu: "BirdVLMSwiGLU",
  attention: "BirdVLMFusedAttention",
  linearActivation: "BirdVLMLinearActivation",
  /** Backward of `biasActivation`: dy, x (and bias) → dx (and the bias gradient). */
  biasActivationGrad: "BirdVLMBiasActivationGrad",
  /** Backward of `layerNorm`: dy, x, gamma → dx, dgamma, dbeta. */
  layerNormGrad: "BirdVLMLayerNormGrad",
  /** Backward of `rmsNorm`: dy, x, weight → dx, dweight. */
  rmsNormGrad: "BirdVLMRmsNormGrad",
  /** Backward of `fusedAttention`: q, k, v, dy (and mask) → dq, dk, dv. */
  attentionGrad: "BirdVLMFusedAttentionGrad",
  /** Self-attention from a fused qkv projection: qkv `[B, T, 3·H·D]` → `[B, T, H·D]` (attrs heads, scale). */
  qkvAttention: "BirdVLMQkvAttention",
  /** `qkvAttention` while gradients are recorded: qkv → [out, probabilities `[B, H, T, T]`] for the backward. */
  qkvAttentionTraining: "BirdVLMQkvAttentionTraining",
  /** Backward of `qkvAttention`: qkv, dy (and the forward's probabilities) → dqkv. */
  qkvAttentionGrad: "BirdVLMQkvAttentionGrad",
  /**
   * Global L2 norm of gradients g0, g1, ... → [norm], and with attr `maxNorm` > 0 also each gradient times
   * `min(1, maxNorm / (norm + 1e-6))` (PyTorch's `clip_grad_norm_`).
   */
  clipByGlobalNorm: "BirdVLMClipByGlobalNorm",
  /** One AdamW update of one parameter: param, grad, exp_avg, exp_avg_sq → their new values. */
  adamw: "BirdVLMAdamW",
} as const;

let enabled = envVar("BIRDVLM_FUSED_KERNELS") !== "0";

/** Turns the fused kernels off (or on again) for this process, e.g. to compare with TF.js's own. Env `BIRDVLM_FUSED_KERNELS=0` starts off. */
export function setFusedKernelsEnabled(on: boolean): void {
  enabled = on;
}

/** True when the active backend has the fused kernel `name` and fused kernels are enabled. */
export function hasFusedKernel(name: string): boolean {
  return enabled && tf.getKernel(name, tf.getBackend()) !== undefined;
}

/** True inside a gradient computation (`tf.grad`, `variableGrads`, an optimizer's `minimize`): the tape is on. */
export function gradientsRecorded(): boolean {
  return (tf.engine().state as unknown as { gradientDepth: number }).gradientDepth > 0;
}

/** Runs the fused kernel `name` on the active backend. */
export function runFusedKernel(name: string, inputs: tf.NamedTensorMap, attrs: Record<string, unknown>): tf.Tensor {
  return tf.engine().runKernel(name, inputs, attrs as unknown as tf.NamedAttrMap) as tf.Tensor;
}

/** Runs the fused kernel `name`, which has several outputs, on the active backend. */
export function runFusedKernelOutputs(
  name: string,
  inputs: tf.NamedTensorMap,
  attrs: Record<string, unknown>,
): tf.Tensor[] {
  return tf.engine().runKernel(name, inputs, attrs as unknown as tf.NamedAttrMap) as unknown as tf.Tensor[];
}

/** The forward of an op with a hand-written gradient: its value, and the gradient of each input given dy. */
export type CustomGradForward = (
  inputs: tf.Tensor[],
  save: tf.GradSaveFunc,
) => { value: tf.Tensor; gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => tf.Tensor[] };

/** `tf.customGrad` over a list of inputs (typed for the ops here). */
export function customGradOp(forward: CustomGradForward): (...inputs: tf.Tensor[]) => tf.Tensor {
  const f = (...args: Array<tf.Tensor | tf.GradSaveFunc>) =>
    forward(args.slice(0, -1) as tf.Tensor[], args[args.length - 1] as tf.GradSaveFunc);
  return tf.customGrad(f as unknown as Parameters<typeof tf.customGrad>[0]) as (...inputs: tf.Tensor[]) => tf.Tensor;
}
