// Native kernels of the training step: the backward of core's bias + activation and row-norm ops
// (`ops/bias-activation.ts`, `ops/layer-norm.ts`, `ops/rms-norm.ts`) and one AdamW update
// (`training/optimizers/adamw.ts`), each one pass of the addon instead of a dozen TF.js ops.
import type { tf } from "../../../tf.js";
import { UnaryOp } from "../addon.js";
import { f32, output, type KernelArgs } from "./util.js";
import type { NativeOnlyKernel } from "./native-only-kernel.js";

function need(args: KernelArgs, name: string, op: string): Float32Array {
  const v = f32(args.backend, args.inputs[name]);
  if (!v) throw new Error(`native ${op}: input '${name}' must be a float32 tensor`);
  return v;
}

const ACTIVATIONS: Record<string, number> = { gelu: UnaryOp.GeluErf, gelu_tanh: UnaryOp.GeluTanh, silu: UnaryOp.Silu };

/** BirdVLMBiasActivationGrad: dy, x `[N, C]`, optional bias `[C]` → dx `[N, C]`, and with a bias also dbias `[C]`. */
export const biasActivationGradKernel: NativeOnlyKernel = (addon) =>
  ((args: KernelArgs) => {
    const op = "BirdVLMBiasActivationGrad";
    const { x, bias } = args.inputs;
    const activation = (args.attrs as { activation: string }).activation;
    const act = ACTIVATIONS[activation];
    if (act === undefined) throw new Error(`native ${op}: unknown activation '${activation}'`);
    const xv = need(args, "x", op);
    const c = x.shape[x.shape.length - 1];
    const dx = output(args.backend, xv.length);
    const dbias = bias ? new Float32Array(c) : null;
    addon.biasActivationGrad(
      need(args, "dy", op),
      xv,
      bias ? need(args, "bias", op) : null,
      dx,
      dbias,
      xv.length / Math.max(c, 1),
      c,
      act,
    );
    const dxInfo = args.backend.makeTensorInfo(x.shape, "float32", dx);
    return dbias ? [dxInfo, args.backend.makeTensorInfo([c], "float32", dbias)] : [dxInfo];
  }) as unknown as tf.KernelFunc;

/** BirdVLMLayerNormGrad / BirdVLMRmsNormGrad: dy, x `[N, C]`, gamma `[C]` → dx, dgamma (and for LayerNorm dbeta). */
export function normGradKernel(rms: boolean): NativeOnlyKernel {
  const op = rms ? "BirdVLMRmsNormGrad" : "BirdVLMLayerNormGrad";
  return (addon) =>
    ((args: KernelArgs) => {
      const { x } = args.inputs;
      const xv = need(args, "x", op);
      const c = x.shape[x.shape.length - 1];
      const dx = output(args.backend, xv.length);
      const dgamma = new Float32Array(c);
      const dbeta = rms ? null : new Float32Array(c);
      const eps = (args.attrs as { eps: number }).eps;
      addon.normRowsGrad(
        need(args, "dy", op),
        xv,
        need(args, "gamma", op),
        dx,
        dgamma,
        dbeta,
        xv.length / Math.max(c, 1),
        c,
        eps,
        rms,
      );
      const out = [
        args.backend.makeTensorInfo(x.shape, "float32", dx),
        args.backend.makeTensorInfo([c], "float32", dgamma),
      ];
      if (dbeta) out.push(args.backend.makeTensorInfo([c], "float32", dbeta));
      return out;
    }) as unknown as tf.KernelFunc;
}

/** The scalars of one AdamW update, as `addon.adamw` takes them. */
export interface AdamWAttrs {
  beta1: number;
  beta2: number;
  eps: number;
  /** `1 − lr · weightDecay`. */
  decay: number;
  /** `lr / (1 − beta1^t)`. */
  stepSize: number;
  /** `√(1 − beta2^t)`. */
  bc2Sqrt: number;
}

/** BirdVLMAdamW: param, grad, m, v (same shape) → param', m', v' (new tensors). */
export const adamwKernel: NativeOnlyKernel = (addon) =>
  ((args: KernelArgs) => {
    const op = "BirdVLMAdamW";
    const { param } = args.inputs;
    const p = need(args, "param", op);
    const a = args.attrs as unknown as AdamWAttrs;
    const outs = [output(args.backend, p.length), output(args.backend, p.length), output(args.backend, p.length)];
    addon.adamw(p, need(args, "grad", op), need(args, "m", op), need(args, "v", op), outs[0]!, outs[1]!, outs[2]!, [
      a.beta1,
      1 - a.beta1,
      a.beta2,
      1 - a.beta2,
      a.eps,
      a.decay,
      a.stepSize,
      a.bc2Sqrt,
    ]);
    return outs.map((o) => args.backend.makeTensorInfo(param.shape, "float32", o));
  }) as unknown as tf.KernelFunc;

/**
 * BirdVLMClipByGlobalNorm: gradients g0, g1, ... (float32) → [norm] (a float32 scalar, `√Σ g²` summed in double), and
 * when attr `maxNorm` > 0 also each gradient times `coef = min(1, maxNorm / (norm + 1e-6))`, each step rounded to
 * float32 as TF.js's scalar ops round it.
 */
export const clipByGlobalNormKernel: NativeOnlyKernel = (addon) =>
  ((args: KernelArgs) => {
    const op = "BirdVLMClipByGlobalNorm";
    const grads = Object.keys(args.inputs).map((name) => [args.inputs[name]!, need(args, name, op)] as const);
    const maxNorm = (args.attrs as { maxNorm: number }).maxNorm;
    const norm = new Float32Array(1);
    const outs = maxNorm > 0 ? grads.map(([, v]) => output(args.backend, v.length)) : null;
    // One queued kernel computes the norm and scales: nothing here waits for the gradients.
    addon.clipByGlobalNorm(
      grads.map(([, v]) => v),
      norm,
      maxNorm,
      outs,
    );
    const normInfo = args.backend.makeTensorInfo([], "float32", norm);
    if (!outs) return [normInfo];
    return [normInfo, ...grads.map(([t], i) => args.backend.makeTensorInfo(t.shape, "float32", outs[i]!))];
  }) as unknown as tf.KernelFunc;
