import { Module, linearActivation, tf, type Activation, type ParameterInit } from "@birdvlm/core";

/**
 * A dense layer `y = x W + b`. `weight` is kept `[in, out]` (one matmul, no transpose per call); its
 * reference name and layout are PyTorch's `[out, in]`.
 */
export class Linear extends Module {
  readonly weight: tf.Variable;
  readonly bias?: tf.Variable;

  constructor(
    readonly inFeatures: number,
    readonly outFeatures: number,
    init: ParameterInit,
    options: { bias?: boolean } = {},
  ) {
    super();
    this.weight = this.registerParameter("weight", init.truncNormal([inFeatures, outFeatures]), { transposed: true });
    if (options.bias ?? true) this.bias = this.registerParameter("bias", init.zeros([outFeatures]));
  }

  /**
   * `[..., in]` → `[..., out]`, then `activation` when given (one kernel with the product where the backend has
   * core's fused linearActivation, outside gradient recording).
   */
  forward(x: tf.Tensor, activation?: Activation): tf.Tensor {
    const lead = x.shape.slice(0, -1);
    const flat = tf.reshape(x, [-1, this.inFeatures]) as tf.Tensor2D;
    const y = activation
      ? linearActivation(flat, this.weight as tf.Tensor2D, this.bias ?? null, activation)
      : tf.fused.matMul({ a: flat, b: this.weight as tf.Tensor2D, bias: this.bias });
    return tf.reshape(y, [...lead, this.outFeatures]);
  }
}
