import { tf } from "../../tf.js";
import { FusedKernelName, hasFusedKernel, runFusedKernelOutputs } from "../../ops/fused-kernel.js";
import { NamedOptimizer, type BaseOptimizerOptions, type ParameterSource } from "./optimizer.js";

/** Options of {@link AdamW}. Defaults as `torch.optim.AdamW`, except `weightDecay` (PyTorch: 0.01). */
export interface AdamWOptions extends BaseOptimizerOptions {
  /** `[beta1, beta2]`. Default `[0.9, 0.999]`. */
  betas?: [number, number];
  /** Added to the denominator. Default `1e-8`. */
  eps?: number;
}

// Reference: PyTorch `torch.optim.AdamW` (torch/optim/adamw.py).
/**
 * AdamW (Loshchilov & Hutter) with PyTorch's semantics: decoupled weight decay applied to the parameter
 * before the Adam update (`p -= lr·wd·p`), bias-corrected moments, `eps` added after the square root:
 *
 * ```
 * p ← p·(1 − lr·wd)
 * m ← β1·m + (1 − β1)·g          v ← β2·v + (1 − β2)·g²
 * p ← p − lr/(1 − β1^t) · m / (√v / √(1 − β2^t) + eps)
 * ```
 *
 * Norm scales, biases, position embeddings and class tokens get no weight decay unless a group sets one
 * (see {@link isNoDecayParameter}). State slots: `exp_avg`, `exp_avg_sq`, `step` (per parameter).
 *
 * ```ts
 * const opt = new AdamW(model, { lr: 3e-4, weightDecay: 0.05, groups: [{ match: /^head\./, lr: 1e-3 }] });
 * opt.step(grads, schedule(step));
 * ```
 */
export class AdamW extends NamedOptimizer {
  /** `[beta1, beta2]`: decay rates of the first and second moment estimates. */
  readonly betas: [number, number];
  /** Added to the denominator's square root. */
  readonly eps: number;

  constructor(params: ParameterSource, options: AdamWOptions) {
    super("AdamW", params, options);
    this.betas = options.betas ?? [0.9, 0.999];
    this.eps = options.eps ?? 1e-8;
    const [b1, b2] = this.betas;
    if (!(b1 >= 0 && b1 < 1 && b2 >= 0 && b2 < 1))
      throw new Error(`AdamW: betas must be in [0,1), got [${this.betas}]`);
    if (!(this.eps >= 0)) throw new Error(`AdamW: eps must be ≥ 0, got ${this.eps}`);
  }

  protected slotNames(): string[] {
    return ["exp_avg", "exp_avg_sq"];
  }

  protected update(
    param: tf.Variable,
    grad: tf.Tensor,
    slots: Map<string, tf.Variable>,
    h: { lr: number; weightDecay: number; t: number },
  ): void {
    const [b1, b2] = this.betas;
    const m = this.slot(slots, "exp_avg", () => tf.zerosLike(param));
    const v = this.slot(slots, "exp_avg_sq", () => tf.zerosLike(param));
    if (hasFusedKernel(FusedKernelName.adamw)) {
      // One pass of the native backend's kernel (the same arithmetic, each scalar rounded to float32 once).
      const [p2, m2, v2] = runFusedKernelOutputs(
        FusedKernelName.adamw,
        { param, grad, m, v },
        {
          beta1: b1,
          beta2: b2,
          eps: this.eps,
          decay: 1 - h.lr * h.weightDecay,
          stepSize: h.lr / (1 - b1 ** h.t),
          bc2Sqrt: Math.sqrt(1 - b2 ** h.t),
        },
      );
      m.assign(m2!);
      v.assign(v2!);
      param.assign(p2!);
      return;
    }
    const mNew = tf.add(tf.mul(m, b1), tf.mul(grad, 1 - b1));
    const vNew = tf.add(tf.mul(v, b2), tf.mul(tf.square(grad), 1 - b2));
    m.assign(mNew);
    v.assign(vNew);
    const decayed = h.weightDecay !== 0 ? tf.mul(param, 1 - h.lr * h.weightDecay) : param;
    const bc1 = 1 - b1 ** h.t;
    const bc2Sqrt = Math.sqrt(1 - b2 ** h.t);
    const denom = tf.add(tf.div(tf.sqrt(vNew), bc2Sqrt), this.eps);
    param.assign(tf.sub(decayed, tf.mul(tf.div(mNew, denom), h.lr / bc1)));
  }
}
