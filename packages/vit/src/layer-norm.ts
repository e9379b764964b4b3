import { Module, tf } from "@birdvlm/core";
import type { ParameterInit } from "./init.js";

/** LayerNorm over the last axis: `(x - mean) / sqrt(var + eps) * weight + bias` (biased variance, as PyTorch). */
export class LayerNorm extends Module {
  readonly weight: tf.Variable;
  readonly bias: tf.Variable;

  constructor(readonly size: number, readonly eps: number, init: ParameterInit) {
    super();
    this.weight = this.registerParameter("weight", init.ones([size]));
    this.bias = this.registerParameter("bias", init.zeros([size]));
  }

  /** `[..., size]` → same shape. */
  forward(x: tf.Tensor): tf.Tensor {
    return tf.tidy(() => {
      const mean = tf.mean(x, -1, true);
      const centered = tf.sub(x, mean);
      const variance = tf.mean(tf.square(centered), -1, true);
      const normed = tf.mul(centered, tf.rsqrt(tf.add(variance, this.eps)));
      return tf.add(tf.mul(normed, this.weight), this.bias);
    });
  }
}
