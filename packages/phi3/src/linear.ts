import { Module, tf } from "@birdvlm/core";
import type { ParameterInit } from "./init.js";

/** Something added to a linear layer's output (a LoRA adapter). */
export interface LinearDelta {
  /** `x [..., in]` → `[..., out]`, added to the layer's output. */
  apply(x: tf.Tensor, training: boolean): tf.Tensor;
}

/**
 * A bias-free linear layer `y = x W`. The weight is kept `[in, out]` (reference name `weight`, reference layout
 * PyTorch's `[out, in]`).
 */
export class Linear extends Module {
  readonly weight: tf.Variable;
  /** Set by `applyLoRA`; not a registered child, so the checkpoint names stay those of the reference. */
  delta: LinearDelta | undefined;

  constructor(
    readonly inFeatures: number,
    readonly outFeatures: number,
    init: ParameterInit,
  ) {
    super();
    this.weight = this.registerParameter("weight", init.normal([inFeatures, outFeatures]), { transposed: true });
  }

  /** `x [..., in]` → `[..., out]`. */
  apply(x: tf.Tensor, training = false): tf.Tensor {
    return tf.tidy(() => {
      const lead = x.shape.slice(0, -1);
      const flat = tf.reshape(x, [-1, this.inFeatures]);
      let y = tf.matMul(flat, this.weight);
      if (this.delta) y = tf.add(y, this.delta.apply(flat, training));
      return tf.reshape(y, [...lead, this.outFeatures]);
    });
  }
}
