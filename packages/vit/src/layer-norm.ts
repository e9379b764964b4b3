import { Module, layerNorm, tf, type ParameterInit } from "@birdvlm/core";

// Reference: PyTorch `torch.nn.LayerNorm` (torch/nn/modules/normalization.py), as timm uses it.
/** LayerNorm over the last axis: `(x - mean) / sqrt(var + eps) * weight + bias` (biased variance, as PyTorch). */
export class LayerNorm extends Module {
  readonly weight: tf.Variable;
  readonly bias: tf.Variable;

  constructor(
    readonly size: number,
    readonly eps: number,
    init: ParameterInit,
  ) {
    super();
    this.weight = this.registerParameter("weight", init.ones([size]));
    this.bias = this.registerParameter("bias", init.zeros([size]));
  }

  /** `[..., size]` → same shape. */
  forward(x: tf.Tensor): tf.Tensor {
    // core's fused op: one kernel on backends that have it, and a closed-form gradient that saves only x.
    return layerNorm(x, this.weight, this.bias, this.eps);
  }
}
