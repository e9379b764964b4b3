// Forward kernels of core's fused ops (`ops/layer-norm.ts`, `ops/rms-norm.ts`, `ops/bias-activation.ts`),
// reached by kernel name when the native backend is active; their gradients are the ops' closed forms.
import { tf } from "../../../tf.js";
import { UnaryOp, type NativeAddon } from "../addon.js";
import { f32, output, sizeOf, type KernelArgs } from "./util.js";
import {
  fusedAttentionGradKernel,
  fusedAttentionKernel,
  qkvAttentionGradKernel,
  qkvAttentionTrainingKernel,
  qkvAttentionKernel,
  swigluKernel,
} from "./attention.js";
import { linearActivationKernel } from "./linear-activation.js";
import { bf16GatherKernel, bf16MatMulKernel } from "./bf16-matmul.js";
import type { NativeOnlyKernel } from "./native-only-kernel.js";
import { adamwKernel, biasActivationGradKernel, clipByGlobalNormKernel, normGradKernel } from "./training.js";

function need(args: KernelArgs, name: string, op: string): Float32Array {
  const t = args.inputs[name];
  const v = f32(args.backend, t);
  if (!v) throw new Error(`native ${op}: input '${name}' must be a float32 tensor`);
  return v;
}

function norm(rms: boolean): NativeOnlyKernel {
  const op = rms ? "BirdVLMRmsNorm" : "BirdVLMLayerNorm";
  return (addon) =>
    ((args: KernelArgs) => {
      const { x } = args.inputs;
      const xv = need(args, "x", op);
      const c = x.shape[x.shape.length - 1];
      const gamma = need(args, rms ? "weight" : "gamma", op);
      const beta = rms ? null : need(args, "beta", op);
      const out = output(args.backend, xv.length);
      addon.normRows(xv, out, xv.length / Math.max(c, 1), c, gamma, beta, (args.attrs as { eps: number }).eps, rms);
      return args.backend.makeTensorInfo(x.shape, "float32", out);
    }) as unknown as tf.KernelFunc;
}

const ACTIVATIONS: Record<string, number> = { gelu: UnaryOp.GeluErf, gelu_tanh: UnaryOp.GeluTanh, silu: UnaryOp.Silu };

/** BirdVLMBiasActivation: act(x + bias) over [N, C]. */
const biasActivation: NativeOnlyKernel = (addon) =>
  ((args: KernelArgs) => {
    const { x, bias } = args.inputs;
    const xv = need(args, "x", "BirdVLMBiasActivation");
    const activation = (args.attrs as { activation: string }).activation;
    const act = ACTIVATIONS[activation];
    if (act === undefined) throw new Error(`native BirdVLMBiasActivation: unknown activation '${activation}'`);
    const c = x.shape[x.shape.length - 1];
    const out = output(args.backend, xv.length);
    if (xv.length > 0) addon.stridedCopy(xv, out, 0, [xv.length], [1]);
    const bv = bias ? need(args, "bias", "BirdVLMBiasActivation") : null;
    if (bv && sizeOf(bias.shape) !== c)
      throw new Error(`native BirdVLMBiasActivation: bias has ${sizeOf(bias.shape)} values, x has ${c} channels`);
    addon.biasActivation(out, xv.length / Math.max(c, 1), c, bv, act, 0);
    return args.backend.makeTensorInfo(x.shape, "float32", out);
  }) as unknown as tf.KernelFunc;

/** Kernel name -> native-only kernel. */
export const NATIVE_ONLY_KERNELS: Record<string, NativeOnlyKernel> = {
  BirdVLMLayerNorm: norm(false),
  BirdVLMRmsNorm: norm(true),
  BirdVLMBiasActivation: biasActivation,
  BirdVLMFusedAttention: fusedAttentionKernel,
  BirdVLMFusedAttentionGrad: fusedAttentionGradKernel,
  BirdVLMQkvAttention: qkvAttentionKernel,
  BirdVLMQkvAttentionTraining: qkvAttentionTrainingKernel,
  BirdVLMQkvAttentionGrad: qkvAttentionGradKernel,
  BirdVLMSwiGLU: swigluKernel,
  BirdVLMLinearActivation: linearActivationKernel,
  BirdVLMBf16MatMul: bf16MatMulKernel,
  BirdVLMBf16Gather: bf16GatherKernel,
  BirdVLMBiasActivationGrad: biasActivationGradKernel,
  BirdVLMLayerNormGrad: normGradKernel(false),
  BirdVLMRmsNormGrad: normGradKernel(true),
  BirdVLMAdamW: adamwKernel,
  BirdVLMClipByGlobalNorm: clipByGlobalNormKernel,
};
