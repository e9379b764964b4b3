import { Module, rmsNorm, tf, type ParameterInit } from "@birdvlm/core";

// Reference: transformers `models/phi3/modeling_phi3.py` `Phi3RMSNorm`.
/** RMSNorm as Phi-3 computes it: `x / sqrt(mean(x²) + eps) * weight` over the last axis. */
export class RMSNorm extends Module {
  readonly weight: tf.Variable;

  constructor(
    readonly size: number,
    readonly eps: number,
    init: ParameterInit,
  ) {
    super();
    this.weight = this.registerParameter("weight", init.ones([size]));
  }

  /** `[..., size]` → `[..., size]`. */
  apply(x: tf.Tensor): tf.Tensor {
    // core's fused op: one kernel where the backend has it, and a closed-form gradient.
    return rmsNorm(x, this.weight, this.eps);
  }
}
