import { tf } from "../../tf.js";
import { NamedOptimizer, type BaseOptimizerOptions, type ParameterSource } from "./optimizer.js";

/** Options of {@link SGD}. Defaults as `torch.optim.SGD`. */
export interface SGDOptions extends BaseOptimizerOptions {
  /** Momentum factor. Default 0 (plain SGD). */
  momentum?: number;
  /** Dampening of the momentum. Default 0. */
  dampening?: number;
  /** Nesterov momentum (needs `momentum > 0` and `dampening = 0`). Default `false`. */
  nesterov?: boolean;
}

// Reference: PyTorch `torch.optim.SGD` (torch/optim/sgd.py).
/**
 * Stochastic gradient descent with PyTorch's semantics: L2 weight decay added to the gradient
 * (`g ← g + wd·p`, coupled, unlike {@link AdamW}), momentum buffer initialised to the first gradient:
 *
 * ```
 * b ← g (first step) | μ·b + (1 − dampening)·g
 * g ← nesterov ? g + μ·b : b
 * p ← p − lr·g
 * ```
 *
 * Norms and biases get no weight decay unless a group sets one. State slots: `momentum_buffer`, `step`.
 */
export class SGD extends NamedOptimizer {
  /** Momentum factor μ (0: none). */
  readonly momentum: number;
  /** Dampening of the gradient added to the momentum buffer. */
  readonly dampening: number;
  /** Whether the update uses Nesterov momentum. */
  readonly nesterov: boolean;

  constructor(params: ParameterSource, options: SGDOptions) {
    super("SGD", params, options);
    this.momentum = options.momentum ?? 0;
    this.dampening = options.dampening ?? 0;
    this.nesterov = options.nesterov ?? false;
    if (!(this.momentum >= 0)) throw new Error(`SGD: momentum must be ≥ 0, got ${this.momentum}`);
    if (this.nesterov && (this.momentum <= 0 || this.dampening !== 0)) {
      throw new Error("SGD: nesterov momentum requires momentum > 0 and dampening = 0");
    }
  }

  protected slotNames(): string[] {
    return ["momentum_buffer"];
  }

  protected update(
    param: tf.Variable,
    grad: tf.Tensor,
    slots: Map<string, tf.Variable>,
    h: { lr: number; weightDecay: number; t: number },
  ): void {
    let g = h.weightDecay !== 0 ? tf.add(grad, tf.mul(param, h.weightDecay)) : grad;
    if (this.momentum !== 0) {
      const existing = slots.get("momentum_buffer");
      const buf = existing ? tf.add(tf.mul(existing, this.momentum), tf.mul(g, 1 - this.dampening)) : g;
      this.slot(slots, "momentum_buffer", () => tf.zerosLike(param)).assign(buf);
      g = this.nesterov ? tf.add(g, tf.mul(buf, this.momentum)) : buf;
    }
    param.assign(tf.sub(param, tf.mul(g, h.lr)));
  }
}
